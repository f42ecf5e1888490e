"""A task goes through the real broker to a real worker process and lands in the database.

Needs a server database (the worker is another process) and a broker: CI runs it on PostgreSQL
and Redis. Elsewhere it is skipped with the reason shown; under CI=true a missing service fails.
"""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from alliance.models import WorkerHeartbeat
from alliance.tasks import record_worker_heartbeat
from config.celery import app as celery_app

pytestmark = pytest.mark.worker


def _require_services() -> None:
    missing = []
    if connection.vendor != "postgresql":
        missing.append("DATABASE_URL (PostgreSQL)")
    if not os.environ.get("REDIS_URL") and not os.environ.get("CELERY_BROKER_URL"):
        missing.append("REDIS_URL")
    if missing:
        message = f"needs {' and '.join(missing)} for a real Celery worker"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the worker test: {message}")
        pytest.skip(message)


def _database_url() -> str:
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def worker_queue(transactional_db):
    """Start `celery worker` on a private queue against the test database; stop it afterwards."""
    _require_services()
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SECRET_KEY": "worker-test-secret",  # noqa: S105
        "DEBUG": "false",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
         "--queues", queue, "--hostname", f"{queue}@%h", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        cwd=settings.BASE_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield queue
    finally:
        celery_app.conf.task_always_eager = eager
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        print(output)  # shown by pytest only when the test fails


def test_heartbeat_task_runs_in_a_real_worker_and_writes_to_the_database(worker_queue):
    assert not WorkerHeartbeat.objects.filter(hostname__startswith=worker_queue).exists()

    result = record_worker_heartbeat.apply_async(queue=worker_queue)
    assert result.id  # published to the broker, not run in this process

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.filter(hostname__startswith=worker_queue).exists():
            break
        time.sleep(0.25)
    # Only the worker carries the queue's name in its hostname: an in-process run would not.
    heartbeat = WorkerHeartbeat.objects.get(hostname__startswith=worker_queue)
    assert heartbeat.seen_at is not None
