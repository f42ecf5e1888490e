import datetime

from django.utils import timezone

from core.models import WorkerHeartbeat
from core.tasks import record_worker_heartbeat


def test_without_a_broker_the_heartbeat_runs_in_process(db):
    record_worker_heartbeat.delay()
    assert WorkerHeartbeat.objects.count() == 1


def test_the_heartbeat_updates_one_row_per_worker(db):
    record_worker_heartbeat.delay()
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - datetime.timedelta(hours=1))
    record_worker_heartbeat.delay()
    heartbeat = WorkerHeartbeat.objects.get()
    assert timezone.now() - heartbeat.seen_at < datetime.timedelta(minutes=1)
