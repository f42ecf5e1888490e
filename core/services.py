"""Writes of the platform's own tables."""

from __future__ import annotations

from django.utils import timezone

from .models import WorkerHeartbeat


def record_worker_heartbeat(*, hostname: str) -> WorkerHeartbeat:
    heartbeat, _created = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"seen_at": timezone.now()}
    )
    return heartbeat
