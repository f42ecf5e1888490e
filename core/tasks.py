"""Celery tasks of the platform: thin wrappers around services.

Their registered names are still those they had in alliance.tasks: a task's name is what the
broker's queued messages, the outbox rows and the beat schedule (settings.CELERY_BEAT_SCHEDULE)
call it by, so a message queued before the move still finds its task."""

import socket

from celery import shared_task

from . import outbox, services


@shared_task(bind=True, ignore_result=True, name="alliance.tasks.record_worker_heartbeat")
def record_worker_heartbeat(self) -> None:
    """Runs every minute (settings.CELERY_BEAT_SCHEDULE); the health page reads the result."""
    services.record_worker_heartbeat(hostname=self.request.hostname or socket.gethostname())


@shared_task(ignore_result=True, name="alliance.tasks.sweep_outbox")
def sweep_outbox() -> None:
    """Runs every minute (settings.CELERY_BEAT_SCHEDULE): publishes the pending outbox messages
    that could not go out at commit time, and removes those sent over 30 days ago."""
    outbox.sweep()
    outbox.prune()
