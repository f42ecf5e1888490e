"""The transactional outbox: Celery side effects that survive a broker that is down or hangs.

`enqueue(task, *args)` writes an OutboxMessage in the caller's transaction and, once that
transaction has committed, publishes it at once (or, with CELERY_TASK_ALWAYS_EAGER, runs the
task in-process as `delay` would). If the broker refuses or times out, the request still
succeeds: the message stays pending with its error, and `sweep()` (every minute from Celery
beat, or `manage.py sweep_outbox`) publishes it when the broker is back.

Exactly once: whoever publishes a message first locks its row (SELECT ... FOR UPDATE SKIP
LOCKED) and marks it sent only if it is still pending, so the after-commit path and any number
of sweepers never send it twice. The one gap left, a broker that took the message but whose
answer was lost, is covered by the tasks being idempotent (notifications carry a dedup key).
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass
from typing import Any

from celery import Task, current_app
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from .models import OutboxMessage

logger = logging.getLogger(__name__)

# The sweeper leaves younger messages to the after-commit path that is about to publish them.
SWEEP_AFTER = datetime.timedelta(seconds=30)
# After the broker failed, this process stops trying at commit time for so long: a request that
# queues several messages pays one broker timeout, not one per message.
BROKER_PAUSE_SECONDS = 30.0
# Sent messages are kept this long for the operator (admin), then the sweeper removes them.
KEEP_SENT = datetime.timedelta(days=30)
# Longest wait before retrying a message whose task itself failed (not the broker).
MAX_BACKOFF = datetime.timedelta(hours=1)
# What a broker that is down (refused) or hangs (timed out) raises from a publish.
BROKER_ERRORS = (OperationalError, OSError)

_broker_paused_until = 0.0


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did: messages published, and failures (a broker failure ends the sweep)."""

    sent: int
    failed: int


def enqueue(task: Task | str, *args: Any, **kwargs: Any) -> OutboxMessage:
    """Queue `task(*args, **kwargs)` to run once the current transaction commits.

    Call it inside the transaction that makes the change the task announces: a rollback then
    drops the message too. Outside a transaction the message is written and published at once.
    Arguments are stored as JSON, so pass ids and plain values (as Celery tasks take anyway)."""
    name = task if isinstance(task, str) else task.name
    message = OutboxMessage.objects.create(task=name, args=list(args), kwargs=kwargs)
    transaction.on_commit(_AfterCommit(message.pk, name, args, kwargs), robust=True)
    return message


class _AfterCommit:
    """The after-commit callback of one message. Like functools.partial it shows the task's
    `args` and `kwargs`, so tests and debuggers can see what is about to be sent."""

    def __init__(self, message_id: int, task: str, args: tuple, kwargs: dict) -> None:
        self.message_id, self.task, self.args, self.kwargs = message_id, task, args, kwargs
        # Django names a failing robust callback by its __qualname__ in the log.
        self.__qualname__ = f"outbox[{task}#{message_id}]"

    def __call__(self) -> None:
        if not _eager() and time.monotonic() < _broker_paused_until:
            logger.info("Broker paused: %s left for the sweeper.", self.__qualname__)
            return
        try:
            _deliver(self.message_id)
        except Exception as exc:
            if not _is_broker_error(exc):
                raise  # a task's own error (eager mode): Django logs it, as it did for delay()
            _pause_broker()
            logger.warning(
                "Broker unavailable: %s left for the sweeper (%s).", self.__qualname__, exc
            )


def sweep(*, limit: int = 500, older_than: datetime.timedelta = SWEEP_AFTER) -> SweepResult:
    """Publish up to `limit` pending messages older than `older_than`, oldest first.

    Stops at the first broker failure: the rest would only wait out the same timeout. Safe to
    run in parallel: each message is claimed under a row lock that other sweepers skip."""
    now = timezone.now()
    due = (
        OutboxMessage.objects.filter(sent_at__isnull=True, created_at__lte=now - older_than)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    sent = failed = 0
    for message_id in list(due):
        try:
            if _deliver(message_id):
                sent += 1
        except Exception as exc:
            failed += 1
            if _is_broker_error(exc):
                logger.warning("Broker unavailable; outbox sweep stopped (%s).", exc)
                break
            logger.exception("Outbox message %s failed.", message_id)
    return SweepResult(sent, failed)


def prune(*, keep: datetime.timedelta = KEEP_SENT) -> int:
    """Delete messages sent longer ago than `keep`; pending ones are never touched. The
    change itself is in its own history and the access log; the message was only its
    delivery."""
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=timezone.now() - keep).delete()
    return deleted


def _deliver(message_id: int) -> bool:
    """Publish one pending message and mark it sent. False when it was sent (or is being sent)
    by someone else; raises the publish error after recording it on the row."""
    if _eager():
        return _run_in_process(message_id)
    error = None
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, sent_at__isnull=True)
            .first()
        )
        if message is None:
            return False
        try:
            _publish(message)
        except Exception as exc:
            error = exc
            _record_failure(message, exc)
        else:
            OutboxMessage.objects.filter(pk=message_id).update(sent_at=timezone.now())
    if error is not None:
        raise error  # after the commit, so that the failure stays recorded
    _resume_broker()
    return True


def _run_in_process(message_id: int) -> bool:
    """Eager mode: claim the message, then run the task outside any transaction of ours (as
    `delay` would), so that its own transactions and after-commit callbacks behave as usual."""
    claimed = OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    if not claimed:
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        _publish(message)
    except Exception as exc:
        _record_failure(message, exc, release=True)
        raise
    return True


def _publish(message: OutboxMessage) -> None:
    task = current_app.tasks.get(message.task)
    if task is None:
        # A sweeper process may not have imported every app's tasks module yet.
        current_app.loader.import_default_modules()
        task = current_app.tasks[message.task]
    # apply_async keeps the task's routing and, in eager mode, runs it in-process; the task id
    # names the outbox row in the worker's log.
    task.apply_async(args=message.args, kwargs=message.kwargs, task_id=f"outbox-{message.pk}")


def _record_failure(message: OutboxMessage, exc: Exception, *, release: bool = False) -> None:
    changes: dict[str, Any] = {
        "attempts": F("attempts") + 1,
        "last_error": f"{type(exc).__name__}: {exc}"[:2000],
    }
    if release:
        changes["sent_at"] = None
    if not _is_broker_error(exc):
        # The task or its arguments are at fault: back off. A broker outage does not: every
        # message should go as soon as the broker is back.
        delay = min(datetime.timedelta(minutes=2**message.attempts), MAX_BACKOFF)
        changes["next_attempt_at"] = timezone.now() + delay
    OutboxMessage.objects.filter(pk=message.pk).update(**changes)


def _eager() -> bool:
    return bool(current_app.conf.task_always_eager)


def _is_broker_error(exc: Exception) -> bool:
    return isinstance(exc, BROKER_ERRORS) and not _eager()


def _pause_broker() -> None:
    global _broker_paused_until
    _broker_paused_until = time.monotonic() + BROKER_PAUSE_SECONDS


def _resume_broker() -> None:
    global _broker_paused_until
    _broker_paused_until = 0.0
