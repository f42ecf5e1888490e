"""Event rows of the workflows, and side effects delivered once per event.

An event row is the audit trail, the timeline and the source of turnaround figures alike. New
event tables subclass `Event` (an abstract model: no table, no migration here) and add the
foreign key to their object.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """One step of a stateful object: who did what, from which state to which, when, why."""

    action = models.CharField(_("action"), max_length=20)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty for the platform's own jobs."),
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "pk"]


# How long a gateway may take before the delivery gives up (settings.DELIVERY_TIMEOUT_SECONDS).
DEFAULT_TIMEOUT_SECONDS = 10.0


class DeliveryTimeout(Exception):
    """The gateway did not answer in time: nothing is marked, the task's retry sends again."""


def deliver_once(
    event_model: type[models.Model],
    event_id: int,
    send: Callable[[], Any],
    *,
    mark: str,
    value=True,
    timeout: float | None = None,
) -> bool:
    """Call `send()` unless the event's `data[mark]` says it was done; then set the mark.

    The event row is locked while sending: a second copy of the same task (a retry, or the
    outbox sweeper racing the after-commit path) waits, then sees the mark and does nothing.
    A gateway that has not answered after `timeout` seconds (settings.DELIVERY_TIMEOUT_SECONDS)
    raises DeliveryTimeout: the transaction ends and the lock with it, so a hanging gateway
    holds neither the row nor the copies waiting for it. The task retries later; a gateway that
    did deliver after all then delivers twice, which beats an alert held up for ever.
    Returns whether it sent."""
    if timeout is None:
        timeout = getattr(settings, "DELIVERY_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS)
    with transaction.atomic():
        event = event_model.objects.select_for_update().get(pk=event_id)
        if event.data.get(mark):
            return False
        _call_within(send, timeout)
        event_model.objects.filter(pk=event_id).update(data=event.data | {mark: value})
    return True


def _call_within(send: Callable[[], Any], seconds: float) -> None:
    """`send()` in a thread of its own, waited for at most `seconds`. A gateway is a callable of
    the hospital's (core.alerts) with no timeout we could set, so the wait is bounded here; a
    call left running finishes (or hangs) in its daemon thread, holding no lock of ours."""
    outcome: dict[str, BaseException] = {}

    def call() -> None:
        try:
            send()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc
        finally:
            connections.close_all()  # a gateway that used the database: this thread's own

    worker = threading.Thread(target=call, name="deliver_once", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise DeliveryTimeout(f"The gateway did not answer within {seconds:g} s.")
    if "error" in outcome:
        raise outcome["error"]
