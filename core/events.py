"""Event rows of the workflows, and side effects delivered once per event.

An event row is the audit trail, the timeline and the source of turnaround figures alike. New
event tables subclass `Event` (an abstract model: no table, no migration here) and add the
foreign key to their object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import models, transaction
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


def deliver_once(
    event_model: type[models.Model],
    event_id: int,
    send: Callable[[], Any],
    *,
    mark: str,
    value=True,
) -> bool:
    """Call `send()` unless the event's `data[mark]` says it was done; then set the mark.

    The event row is locked while sending: a second copy of the same task (a retry, or the
    outbox sweeper racing the after-commit path) waits, then sees the mark and does nothing.
    Returns whether it sent."""
    with transaction.atomic():
        event = event_model.objects.select_for_update().get(pk=event_id)
        if event.data.get(mark):
            return False
        send()
        event_model.objects.filter(pk=event_id).update(data=event.data | {mark: value})
    return True
