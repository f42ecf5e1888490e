"""A real Celery worker survives PostgreSQL dropping its connections, as in a server restart.

The shared server is never restarted: the test kills the worker's own backends with
`pg_terminate_backend`, which is what a restart does to every client. The worker's connections
carry an application_name of their own (libpq reads PGAPPNAME from the environment the worker
inherits), so only they are hit, never the test's or anyone else's.

Why it holds: Celery's Django fixup (active because config/celery.py configures the app from
django.conf:settings with DJANGO_SETTINGS_MODULE set) closes every Django connection before and
after each task, so a task never inherits a dead connection, and the notification tasks
autoretry with exponential backoff when their connection dies mid-task.

Needs PostgreSQL and Redis; skipped elsewhere, and under CI=true a missing service fails.
"""

import os
import uuid
from types import SimpleNamespace

import pytest
from django.db import connection, transaction

from alliance.models import Notification
from config.celery import app as celery_app
from core.models import WorkerHeartbeat
from core.tasks import record_worker_heartbeat
from referrals import services
from referrals.tasks import notify_referral_sender
from tests.kit.waiting import wait_for, worker_drained
from tests.referrals.conftest import payload

pytestmark = pytest.mark.worker


@pytest.fixture
def worker(request, transactional_db):
    """The `celery_worker_queue` worker, its connections named so that the test can find them."""
    application_name = f"resilience-{uuid.uuid4().hex[:10]}"
    saved = os.environ.get("PGAPPNAME")
    # The fixture copies os.environ into the worker's environment when it starts the process;
    # this process's own connections are already open and keep their name.
    os.environ["PGAPPNAME"] = application_name
    try:
        queue = request.getfixturevalue("celery_worker_queue")
    finally:
        if saved is None:
            del os.environ["PGAPPNAME"]
        else:
            os.environ["PGAPPNAME"] = saved
    return SimpleNamespace(queue=queue, application_name=application_name)


def _worker_backends(worker, *, waiting_on_lock: bool = False) -> list[int]:
    sql = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
        "AND application_name = %s"
    )
    if waiting_on_lock:
        sql += " AND wait_event_type = 'Lock'"
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps showing the first snapshot of the statistics.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(sql, [worker.application_name])
        return [pid for (pid,) in cursor.fetchall()]


def _terminate_worker_backends(worker) -> list[int]:
    """What a PostgreSQL restart does to the worker: every one of its connections is killed.

    In two steps on purpose: with pg_terminate_backend() in a WHERE clause the planner may call
    it before the other conditions, on every backend of the server."""
    pids = _worker_backends(worker)
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    return pids


def _locked(model):
    """Hold an exclusive lock on the model's table: the worker's next query on it waits."""
    with connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{model._meta.db_table}" IN ACCESS EXCLUSIVE MODE')  # noqa: S608


def _worker_answers_ping(worker) -> bool:
    replies = celery_app.control.ping(timeout=2)
    return any(name.startswith(f"{worker.queue}@") for reply in replies for name in reply)


def _heartbeat_arrives(worker) -> bool:
    return worker_drained(worker.queue)


def test_celery_closes_the_django_connections_around_every_task():
    """What the worker tests below rely on, checked without services: the Django fixup."""
    from celery.fixups.django import DjangoFixup

    assert any(isinstance(fixup, DjangoFixup) for fixup in celery_app._fixups)


def test_the_worker_keeps_working_after_its_connections_are_killed(worker):
    # A first task: the worker has connected to the database.
    assert _heartbeat_arrives(worker)
    # Killed between tasks (the fixup already closed its connection after the task: it is
    # fine either way) ...
    _terminate_worker_backends(worker)
    assert _heartbeat_arrives(worker)

    # ... and killed in the middle of a task that does not retry (the heartbeat: beat sends
    # the next one a minute later). That task fails; the worker does not.
    WorkerHeartbeat.objects.filter(hostname__startswith=worker.queue).delete()
    with transaction.atomic():
        _locked(WorkerHeartbeat)
        record_worker_heartbeat.apply_async(queue=worker.queue)
        assert wait_for(lambda: _worker_backends(worker, waiting_on_lock=True))
        assert _terminate_worker_backends(worker)

    # The next task reconnects and succeeds, and the process is still there.
    assert _heartbeat_arrives(worker)
    assert wait_for(lambda: _worker_answers_ping(worker), seconds=20)


def test_a_task_whose_connection_dies_mid_task_retries_with_backoff_and_succeeds(
    worker, world, clinic_doctor
):
    assert notify_referral_sender.autoretry_for and notify_referral_sender.retry_backoff
    assert notify_referral_sender.max_retries
    data = payload(world) | {
        "patient": world["patient"],
        "to_institution": world["hospital"],
        "to_department": world["cardiology"],
    }
    referral, _ = services.referral_create(actor=clinic_doctor, **data)  # a draft: no tasks
    key_event = 424242
    assert _heartbeat_arrives(worker)  # the worker is up and idle

    with transaction.atomic():
        _locked(Notification)
        notify_referral_sender.apply_async(
            args=(referral.pk, key_event, "已接收", "请按预约时间就诊"), queue=worker.queue
        )
        # The task has read the referral and now waits on the notification table ...
        assert wait_for(lambda: _worker_backends(worker, waiting_on_lock=True))
        # ... when the server drops its connection: the first attempt fails on the database.
        assert _terminate_worker_backends(worker)

    # Only a second attempt, on a new connection, can have written the notification.
    delivered = clinic_doctor.notifications.filter(key=f"referral-event-{key_event}")
    assert wait_for(delivered.exists)
    assert delivered.count() == 1
    assert wait_for(lambda: _worker_answers_ping(worker), seconds=20)
