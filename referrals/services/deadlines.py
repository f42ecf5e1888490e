"""The response clock: the office's limits per urgency, and the platform's own job that
escalates unanswered referrals past their deadline and expires those long past it."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ActionNotAllowed, IllegalTransition

from .. import tasks
from ..choices import Action, Status, Urgency
from ..models import Referral, ResponseLimit
from ..workflow import REFERRAL
from .checks import record


def response_limit(urgency: str) -> tuple[datetime.timedelta, datetime.timedelta]:
    """(time to respond, further time before expiry) for an urgency: the office's or default."""
    limit = ResponseLimit.objects.filter(urgency=urgency).first()
    if limit is not None:
        minutes, expire_after = limit.minutes, limit.expire_after_minutes
    else:
        minutes, expire_after = settings.REFERRAL_RESPONSE_LIMITS[urgency]
    return datetime.timedelta(minutes=minutes), datetime.timedelta(minutes=expire_after)


@transaction.atomic
def response_limits_set(*, actor, limits: dict[str, tuple[int, int]]) -> None:
    """The alliance office sets, per urgency, minutes to respond and minutes more to expiry.
    New limits apply to referrals submitted (or redirected) from now on."""
    if not actor.has_perm("referrals.change_responselimit"):
        raise ActionNotAllowed(_("Only the alliance office sets the response limits."))
    errors = {}
    for urgency, (minutes, expire_after) in limits.items():
        if urgency not in Urgency.values:
            errors[urgency] = _("Unknown urgency.")
        elif not (1 <= minutes <= 30 * 24 * 60 and 1 <= expire_after <= 90 * 24 * 60):
            errors[urgency] = _("Minutes must be positive and at most 30 days (90 to expire).")
    if errors:
        raise ValidationError(errors)
    for urgency, (minutes, expire_after) in limits.items():
        ResponseLimit.objects.update_or_create(
            urgency=urgency, defaults={"minutes": minutes, "expire_after_minutes": expire_after}
        )


def escalate_overdue(now: datetime.datetime | None = None) -> dict[str, int]:
    """Escalate unanswered referrals past their deadline to the alliance office (once each),
    and expire those long past it. Safe to run any number of times."""
    now = now or timezone.now()
    escalated = expired = 0
    overdue = Referral.objects.filter(status=Status.SUBMITTED, due_at__lt=now)
    for referral in overdue.filter(escalated_at__isnull=True).only("pk", "status"):
        with transaction.atomic():
            # The conditional update is the "once": a parallel run finds nothing left to claim.
            claimed = Referral.objects.filter(
                pk=referral.pk, status=Status.SUBMITTED, escalated_at__isnull=True
            ).update(escalated_at=now)
            if not claimed:
                continue
            fresh = Referral.objects.get(pk=referral.pk)
            record(
                fresh,
                Action.ESCALATE,
                None,
                fresh.status,
                effects=[(tasks.notify_referral_overdue,)],
            )
            escalated += 1
    for urgency in Urgency.values:
        _respond, expire_after = response_limit(urgency)
        stale = overdue.filter(urgency=urgency, due_at__lt=now - expire_after)
        for referral in stale.only("pk"):
            with transaction.atomic():
                try:
                    REFERRAL.run(None, referral, Action.EXPIRE, changes={"closed_at": now})
                except IllegalTransition:
                    continue  # answered meanwhile
                expired += 1
    return {"escalated": escalated, "expired": expired}
