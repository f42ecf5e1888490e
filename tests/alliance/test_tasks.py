from alliance.models import WorkerHeartbeat
from alliance.tasks import record_worker_heartbeat


def test_without_a_broker_the_heartbeat_runs_in_process(db):
    record_worker_heartbeat.delay()
    assert WorkerHeartbeat.objects.count() == 1


def test_the_heartbeat_is_idempotent_per_worker(db):
    record_worker_heartbeat.delay()
    first = WorkerHeartbeat.objects.get().seen_at
    record_worker_heartbeat.delay()
    assert WorkerHeartbeat.objects.count() == 1
    assert WorkerHeartbeat.objects.get().seen_at >= first
