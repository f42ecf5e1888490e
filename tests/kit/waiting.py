"""Waiting for a real Celery worker: poll a condition instead of sleeping a fixed time."""

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], seconds: float = 60, every: float = 0.25) -> bool:
    """True as soon as `condition()` is truthy, False when `seconds` pass without it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def worker_drained(queue: str, seconds: float = 60) -> bool:
    """Send a heartbeat through the worker's queue and wait until it is recorded: the worker
    takes its queue in order, so every task sent before it has run."""
    from core.models import WorkerHeartbeat
    from core.tasks import record_worker_heartbeat

    WorkerHeartbeat.objects.filter(hostname__startswith=queue).delete()
    record_worker_heartbeat.apply_async(queue=queue)
    return wait_for(
        lambda: WorkerHeartbeat.objects.filter(hostname__startswith=queue).exists(), seconds
    )
