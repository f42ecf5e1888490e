"""Celery tasks of the alliance app: thin wrappers around services."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def purge_expired_api_tokens() -> None:
    """Hourly (settings.CELERY_BEAT_SCHEDULE): expired API tokens are deleted."""
    services.api_tokens_purge_expired()
