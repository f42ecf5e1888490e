"""The transactional outbox (core.outbox): a broker that is down or hangs never fails a saved
referral, and once it is back every pending side effect goes out exactly once.

The broker cases talk to real sockets: a closed port (Redis stopped), a listener that accepts and
never answers (Redis hanging), and a private redis-server started for the test (Redis back).
"""

import contextlib
import datetime
import io
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from types import SimpleNamespace

import kombu.pools
import pytest
import redis
from celery import shared_task
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from config.celery import app as celery_app
from core import outbox
from core.models import OutboxMessage
from core.tasks import sweep_outbox
from referrals.models import Referral, ReferralEvent
from tests.conftest import require_postgres
from tests.referrals.conftest import payload

URL = "/api/v1/referrals/"
SUBMITTED = "referrals.tasks.notify_referral_submitted"
PRE_ARRIVAL = "referrals.tasks.send_pre_arrival_alert"
LONG_AGO = datetime.timedelta(minutes=5)
CALLS: list[tuple] = []


@shared_task(name="tests.outbox.record_call")
def record_call(*args, **kwargs) -> None:
    CALLS.append((args, kwargs))


@shared_task(name="tests.outbox.fail")
def fail() -> None:
    raise RuntimeError("the task itself failed")


@pytest.fixture(autouse=True)
def _fresh_calls():
    CALLS.clear()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _drop_broker_connections() -> None:
    # The app keeps a pool of connections (and producers) to the broker it first talked to, and
    # kombu shares pools per URL process-wide: close them all, the next publish opens new ones.
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def broker(monkeypatch):
    """`broker(url)`: publish to that broker instead of running tasks in-process, for this test.

    override_settings cannot do it: the Celery app read its configuration at start-up."""
    for name in ("CELERY_BROKER_URL", "CELERY_BROKER_WRITE_URL"):
        monkeypatch.delenv(name, raising=False)  # Celery prefers these to its configuration
    conf = celery_app.conf
    saved = conf.get("broker_url"), conf.get("broker_write_url"), conf.task_always_eager

    def use(url: str) -> None:
        _drop_broker_connections()
        conf.broker_url = conf.broker_write_url = url
        conf.task_always_eager = False

    outbox._resume_broker()
    try:
        yield use
    finally:
        _drop_broker_connections()
        conf.broker_url, conf.broker_write_url, conf.task_always_eager = saved
        outbox._resume_broker()


@pytest.fixture
def hanging_redis():
    """A port that accepts connections and never answers: a Redis that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(
            url=f"redis://127.0.0.1:{listener.getsockname()[1]}/0", accepted=accepted
        )
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


@contextlib.contextmanager
def redis_server(port: int):
    """A private, throw-away redis-server on `port`; yields a client to look into it."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "needs redis-server on PATH"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run this test: {message}")
        pytest.skip(message)
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def queued_ids(client: redis.Redis) -> list[str]:
    """The Celery task ids waiting on the default queue, one per message on the broker."""
    queue = celery_app.conf.task_default_queue
    return [json.loads(raw)["headers"]["id"] for raw in client.lrange(queue, 0, -1)]


def submit_emergency(api, world, user):
    """Through the API, as a clinic would: two side effects (the inbox notice and the alert)."""
    return api.as_user(user).post(
        URL, payload(world, urgency="emergency", submit=True), format="json"
    )


def old_message(task: str = "tests.outbox.record_call", **fields) -> OutboxMessage:
    return OutboxMessage.objects.create(task=task, created_at=timezone.now() - LONG_AGO, **fields)


# --- a broker that is down or hangs -----------------------------------------------------------


def test_with_redis_stopped_the_referral_is_saved_and_its_messages_wait(
    transactional_db, world, clinic_doctor, api, broker
):
    broker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there

    response = submit_emergency(api, world, clinic_doctor)

    assert response.status_code == 201, response.content
    referral = Referral.objects.get(number=response.json()["number"])
    event = ReferralEvent.objects.filter(referral=referral).latest("pk")
    first, second = OutboxMessage.objects.order_by("pk")
    assert (first.task, first.args) == (SUBMITTED, [referral.pk, event.pk])
    assert (second.task, second.args) == (PRE_ARRIVAL, [referral.pk, event.pk])
    assert first.sent_at is None and second.sent_at is None
    assert first.attempts == 1 and "OperationalError" in first.last_error
    # The broker failed once: the second message is left to the sweeper without another wait.
    assert second.attempts == 0 and second.last_error == ""
    assert first.next_attempt_at is None  # a broker outage delays nothing once it is over


def test_a_redis_that_accepts_and_never_answers_does_not_hang_the_request(
    transactional_db, world, clinic_doctor, api, broker, hanging_redis
):
    broker(hanging_redis.url)

    started = time.monotonic()
    response = submit_emergency(api, world, clinic_doctor)
    elapsed = time.monotonic() - started

    print(f"request against a hanging broker: {elapsed:.2f} s")
    assert hanging_redis.accepted, "the request never reached the hanging listener"
    assert response.status_code == 201, response.content
    # One socket timeout (3 s), not one per message and no reconnecting.
    assert elapsed < 10
    assert Referral.objects.count() == 1
    messages = list(OutboxMessage.objects.order_by("pk"))
    assert [m.sent_at for m in messages] == [None, None]
    assert "Timeout" in messages[0].last_error


# --- once the broker is back ------------------------------------------------------------------


def test_once_redis_is_back_the_sweeper_sends_each_pending_message_exactly_once(
    transactional_db, world, clinic_doctor, api, broker
):
    port = free_port()
    broker(f"redis://127.0.0.1:{port}/0")
    assert submit_emergency(api, world, clinic_doctor).status_code == 201
    pending = list(OutboxMessage.objects.order_by("pk"))
    assert [m.sent_at for m in pending] == [None, None]

    with redis_server(port) as client:
        result = outbox.sweep(older_than=datetime.timedelta(0))
        assert result == outbox.SweepResult(sent=2, failed=0)
        # Each once (LPUSH: the newest first, a worker pops the oldest).
        assert queued_ids(client) == [f"outbox-{m.pk}" for m in reversed(pending)]

        assert outbox.sweep(older_than=datetime.timedelta(0)) == outbox.SweepResult(0, 0)
        assert client.llen(celery_app.conf.task_default_queue) == 2

    assert OutboxMessage.objects.filter(sent_at__isnull=True).count() == 0


def test_the_sweeper_leaves_sent_young_and_backing_off_messages_alone(db, broker):
    port = free_port()
    broker(f"redis://127.0.0.1:{port}/0")
    now = timezone.now()
    old_message(sent_at=now - LONG_AGO)
    OutboxMessage.objects.create(task="tests.outbox.record_call")  # the request may be sending it
    old_message(next_attempt_at=now + datetime.timedelta(minutes=10))
    due = old_message(args=[1])

    with redis_server(port) as client:
        assert outbox.sweep() == outbox.SweepResult(sent=1, failed=0)
        assert queued_ids(client) == [f"outbox-{due.pk}"]


def test_a_sweep_stops_at_the_first_broker_failure(db, broker):
    broker(f"redis://127.0.0.1:{free_port()}/0")
    first, second = old_message(), old_message()

    assert outbox.sweep() == outbox.SweepResult(sent=0, failed=1)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.attempts, second.attempts) == (1, 0)


def test_two_sweepers_at_once_send_every_message_exactly_once(
    transactional_db, broker, monkeypatch
):
    require_postgres()
    port = free_port()
    broker(f"redis://127.0.0.1:{port}/0")
    created = timezone.now() - LONG_AGO
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(task="tests.outbox.record_call", args=[n], created_at=created)
        for n in range(30)
    )
    publish = outbox._publish

    def slow_publish(message):
        time.sleep(0.01)  # both sweepers are surely at work on the same rows
        publish(message)

    monkeypatch.setattr(outbox, "_publish", slow_publish)
    start = threading.Barrier(2)
    results: list[outbox.SweepResult] = []

    def sweeper() -> None:
        try:
            start.wait()
            results.append(outbox.sweep())
        finally:
            connection.close()  # each thread has its own connection to the database

    with redis_server(port) as client:
        threads = [threading.Thread(target=sweeper) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        ids = queued_ids(client)

    print(f"sent per sweeper: {[result.sent for result in results]}")
    assert sum(result.sent for result in results) == 30
    assert sorted(ids) == sorted(f"outbox-{m.pk}" for m in messages)  # each one exactly once
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()


# --- in-process (eager) mode: development and the test suite ----------------------------------


def test_eager_mode_runs_the_task_after_commit_and_marks_the_message_sent(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        message = outbox.enqueue(record_call, 1, "two", three=3)
        assert CALLS == []  # nothing before the commit

    assert CALLS == [((1, "two"), {"three": 3})]
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 0
    callbacks[0]()  # a hook run twice sends nothing more
    assert len(CALLS) == 1


def test_outside_a_transaction_the_message_goes_at_once(transactional_db):
    message = outbox.enqueue(record_call, 7)

    assert CALLS == [((7,), {})]
    message.refresh_from_db()
    assert message.sent_at is not None


def test_a_rolled_back_change_takes_its_message_with_it(db, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        outbox.enqueue(record_call, 1)
        raise RuntimeError("the referral could not be saved")

    assert callbacks == []
    assert not OutboxMessage.objects.exists()
    assert CALLS == []


def test_a_failing_task_stays_pending_and_backs_off(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox.enqueue(fail)  # the error is logged, as on_commit(robust=True) does

    message.refresh_from_db()
    assert message.sent_at is None and message.attempts == 1
    assert "RuntimeError: the task itself failed" in message.last_error
    assert message.next_attempt_at > timezone.now()
    assert outbox.sweep(older_than=datetime.timedelta(0)) == outbox.SweepResult(0, 0)


# --- operators: beat, the command, the admin --------------------------------------------------


def test_celery_beat_sweeps_every_minute(db, settings):
    schedule = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == sweep_outbox.name]
    assert sweep_outbox.name == "alliance.tasks.sweep_outbox"
    assert [e["schedule"] for e in schedule] == [60.0]
    message = old_message(args=[5])

    sweep_outbox.delay()

    message.refresh_from_db()
    assert message.sent_at is not None and CALLS == [((5,), {})]


def test_sent_messages_are_pruned_after_thirty_days_and_pending_ones_never(db):
    now = timezone.now()
    old_sent = OutboxMessage.objects.create(task="t", sent_at=now - datetime.timedelta(days=31))
    recent_sent = OutboxMessage.objects.create(task="t", sent_at=now - datetime.timedelta(days=29))
    old_pending = OutboxMessage.objects.create(task="t")
    OutboxMessage.objects.filter(pk=old_pending.pk).update(
        created_at=now - datetime.timedelta(days=90)
    )
    assert outbox.prune() == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {
        recent_sent.pk,
        old_pending.pk,
    }
    assert not OutboxMessage.objects.filter(pk=old_sent.pk).exists()


def test_the_command_sends_what_is_pending_and_counts_it(db):
    old_message(args=[1])
    young = OutboxMessage.objects.create(task="tests.outbox.record_call", args=[2])
    out = io.StringIO()

    call_command("sweep_outbox", stdout=out)
    assert out.getvalue().strip() == "Sent 1, failed 0, pending 1."

    call_command("sweep_outbox", "--all", stdout=out)
    young.refresh_from_db()
    assert young.sent_at is not None and CALLS == [((1,), {}), ((2,), {})]


def test_the_command_fails_while_the_broker_is_down(db, broker):
    broker(f"redis://127.0.0.1:{free_port()}/0")
    old_message()
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("sweep_outbox", stdout=out)
    assert "Sent 0, failed 1, pending 1." in out.getvalue()


def test_the_admin_lists_pending_messages_read_only(browser_client, superuser):
    pending = old_message(args=[42])
    old_message(sent_at=timezone.now())
    browser_client.force_login(superuser)

    response = browser_client.get("/admin/core/outboxmessage/?status=pending")

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [pending]
    assert browser_client.get("/admin/core/outboxmessage/add/").status_code == 403
