"""Celery tasks of the alliance app: thin wrappers around services."""

import socket

from celery import shared_task

from . import outbox, services


@shared_task(bind=True, ignore_result=True)
def record_worker_heartbeat(self) -> None:
    """Runs every minute (settings.CELERY_BEAT_SCHEDULE); the health page reads the result."""
    services.record_worker_heartbeat(hostname=self.request.hostname or socket.gethostname())


@shared_task(ignore_result=True)
def sweep_outbox() -> None:
    """Runs every minute (settings.CELERY_BEAT_SCHEDULE): publishes the pending outbox messages
    that could not go out at commit time, and removes those sent over 30 days ago."""
    outbox.sweep()
    outbox.prune()


@shared_task(ignore_result=True)
def purge_expired_api_tokens() -> None:
    """Hourly (settings.CELERY_BEAT_SCHEDULE): expired API tokens are deleted."""
    services.api_tokens_purge_expired()
