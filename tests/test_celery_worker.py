"""A task goes through the real broker to a real worker process and lands in the database.

Needs a server database (the worker is another process) and a broker: CI runs it on PostgreSQL
and Redis. Elsewhere it is skipped with the reason shown; under CI=true a missing service fails.
"""

import pytest

from core.models import WorkerHeartbeat
from core.tasks import record_worker_heartbeat
from tests.kit.waiting import wait_for

pytestmark = pytest.mark.worker


def test_heartbeat_task_runs_in_a_real_worker_and_writes_to_the_database(celery_worker_queue):
    worker_queue = celery_worker_queue
    assert not WorkerHeartbeat.objects.filter(hostname__startswith=worker_queue).exists()

    result = record_worker_heartbeat.apply_async(queue=worker_queue)
    assert result.id  # published to the broker, not run in this process

    wait_for(lambda: WorkerHeartbeat.objects.filter(hostname__startswith=worker_queue).exists())
    # Only the worker carries the queue's name in its hostname: an in-process run would not.
    heartbeat = WorkerHeartbeat.objects.get(hostname__startswith=worker_queue)
    assert heartbeat.seen_at is not None
