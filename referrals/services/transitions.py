"""The steps of a referral after its creation, one keyword-only function each, and the
follow-up tasks a downward referral brings.

Each is one `REFERRAL.run` (core.workflow): lock, check the actor's side and the state, apply,
write the event, and queue the notifications it causes as the step's effects, in the one
transaction. The outbox sends them after the commit, so a failed delivery never rolls back the
referral, and its sweeper retries them, so none is lost.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.models import Department, Institution
from alliance.visibility import grant_visibility
from core.errors import IllegalTransition

from .. import tasks
from ..choices import Action, Direction, FollowUpKind, Outcome, Urgency
from ..models import FollowUpTask, Referral, ReferralEvent
from ..workflow import FOLLOW_UP, REFERRAL
from .checks import check_target, clean_follow_up_items, direction_between
from .deadlines import response_limit


def _transition(
    actor,
    referral: Referral,
    action: str,
    *,
    note: str = "",
    event_data: dict | None = None,
    effects=(),
    **changes,
) -> tuple[Referral, ReferralEvent]:
    """Lock, check side and state, apply, record, queue the effects (core.workflow)."""
    return REFERRAL.run(
        actor, referral, action, changes=changes, note=note, data=event_data, effects=effects
    )


def announce_submission(referral: Referral) -> list[tuple]:
    """The receiver hears of a submitted (or redirected) referral; the on-duty team of an
    emergency at once. Decided on the locked row."""
    effects = [(tasks.notify_referral_submitted,)]
    if referral.urgency == Urgency.EMERGENCY:
        effects.append((tasks.send_pre_arrival_alert,))
    return effects


def tell_sender(title, body: str) -> list[tuple]:
    """The referring side hears of the step: `title` and `body` as the notice shows them."""
    return [(tasks.notify_referral_sender, str(title), body)]


@transaction.atomic
def referral_submit(*, actor, referral: Referral, note: str = "") -> Referral:
    if not referral.consent:
        raise ValidationError({"consent": _("Record the patient's consent before submitting.")})
    now = timezone.now()
    respond_within, _expiry = response_limit(referral.urgency)
    referral, _event = _transition(
        actor,
        referral,
        Action.SUBMIT,
        note=note,
        effects=announce_submission,
        submitted_at=now,
        due_at=now + respond_within,
        escalated_at=None,
        responded_at=None,
    )
    grant_visibility(referral)
    return referral


@transaction.atomic
def referral_request_info(*, actor, referral: Referral, note: str) -> Referral:
    if not note.strip():
        raise ValidationError({"note": _("Say what information is needed.")})
    referral, _event = _transition(
        actor,
        referral,
        Action.REQUEST_INFO,
        note=note,
        effects=tell_sender(_("More information requested"), note),
        status_note=note,
    )
    return referral


@transaction.atomic
def referral_accept(*, actor, referral: Referral, note: str = "") -> Referral:
    referral, _event = _transition(
        actor,
        referral,
        Action.ACCEPT,
        note=note,
        effects=tell_sender(_("Referral accepted"), note),
        responded_at=timezone.now(),
    )
    if referral.direction == Direction.DOWN:
        _create_follow_ups(referral)
    return referral


def _create_follow_ups(referral: Referral) -> None:
    """The follow-up plan becomes dated tasks for the community institution that accepted."""
    items = referral.follow_up_items
    if not items and referral.follow_up_plan.strip():
        items = [
            {
                "kind": FollowUpKind.VISIT,
                "due_in_days": 14,
                "description": referral.follow_up_plan.strip()[:300],
            }
        ]
    today = timezone.localdate()
    FollowUpTask.objects.bulk_create(
        FollowUpTask(
            referral=referral,
            patient_id=referral.patient_id,
            institution_id=referral.to_institution_id,
            kind=item["kind"],
            description=item["description"],
            due_on=today + datetime.timedelta(days=item["due_in_days"]),
        )
        for item in items
    )


@transaction.atomic
def follow_up_done(*, actor, task: FollowUpTask, note: str = "") -> FollowUpTask:
    locked, _event = FOLLOW_UP.run(
        actor,
        task,
        "done",
        note=note,
        changes={"done_at": timezone.now(), "done_by": actor, "note": note},
    )
    return locked


@transaction.atomic
def referral_reject(*, actor, referral: Referral, reason: str) -> Referral:
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for rejecting.")})
    now = timezone.now()
    referral, _event = _transition(
        actor,
        referral,
        Action.REJECT,
        note=reason,
        effects=tell_sender(_("Referral rejected"), reason),
        status_note=reason,
        responded_at=now,
        closed_at=now,
    )
    return referral


@transaction.atomic
def referral_redirect(
    *,
    actor,
    referral: Referral,
    to_institution: Institution,
    to_department: Department | None = None,
    note: str = "",
) -> Referral:
    """Send it on to another institution or department of the alliance; the new receiver sees
    it as submitted and its response clock starts again."""
    current = Referral.objects.get(pk=referral.pk)
    check_target(current.from_institution, to_institution, to_department)
    if (to_institution.pk, getattr(to_department, "pk", None)) == (
        current.to_institution_id,
        current.to_department_id,
    ):
        raise ValidationError({"to_institution": _("Choose another institution or department.")})
    now = timezone.now()
    respond_within, _expiry = response_limit(current.urgency)
    previous = {
        "to_institution": current.to_institution_id,
        "to_department": current.to_department_id,
    }
    referral, _event = _transition(
        actor,
        referral,
        Action.REDIRECT,
        note=note,
        effects=announce_submission,
        to_institution=to_institution,
        to_department=to_department,
        direction=direction_between(current.from_institution, to_institution),
        due_at=now + respond_within,
        escalated_at=None,
        event_data=previous,
    )
    grant_visibility(referral)
    return referral


@transaction.atomic
def referral_schedule(
    *, actor, referral: Referral, appointment_at: datetime.datetime, place: str, note: str = ""
) -> Referral:
    if referral.submitted_at and appointment_at < referral.submitted_at:
        raise ValidationError({"appointment_at": _("The appointment cannot precede the referral.")})
    if not place.strip():
        raise ValidationError({"place": _("Say where the patient should go.")})
    referral, _event = _transition(
        actor,
        referral,
        Action.SCHEDULE,
        note=note,
        effects=tell_sender(
            _("Appointment scheduled"),
            f"{timezone.localtime(appointment_at):%Y-%m-%d %H:%M} {place}",
        ),
        appointment_at=appointment_at,
        appointment_place=place,
        responded_at=referral.responded_at or timezone.now(),
    )
    return referral


@transaction.atomic
def referral_arrive(*, actor, referral: Referral, note: str = "") -> Referral:
    now = timezone.now()
    referral, _event = _transition(
        actor,
        referral,
        Action.ARRIVE,
        note=note,
        arrived_at=now,
        responded_at=referral.responded_at or now,
    )
    return referral


@transaction.atomic
def referral_complete(
    *,
    actor,
    referral: Referral,
    outcome: str,
    summary: str,
    follow_up_plan: str = "",
    follow_up: list[dict] | None = None,
) -> Referral:
    items = clean_follow_up_items(follow_up)
    errors = {}
    if outcome not in Outcome.values:
        errors["outcome"] = _("Choose the outcome.")
    if not summary.strip():
        errors["summary"] = _("Write the outcome summary for the referring doctor.")
    if errors:
        raise ValidationError(errors)
    referral, _event = _transition(
        actor,
        referral,
        Action.COMPLETE,
        note=summary,
        effects=tell_sender(_("Referral completed"), summary),
        outcome=outcome,
        outcome_summary=summary,
        follow_up_plan=follow_up_plan,
        follow_up_items=items,
        closed_at=timezone.now(),
    )
    return referral


@transaction.atomic
def referral_cancel(*, actor, referral: Referral, reason: str) -> Referral:
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for cancelling.")})
    referral, _event = _transition(
        actor, referral, Action.CANCEL, note=reason, status_note=reason, closed_at=timezone.now()
    )
    return referral


@transaction.atomic
def referral_no_show(*, actor, referral: Referral, note: str = "") -> Referral:
    if referral.appointment_at and referral.appointment_at > timezone.now():
        raise IllegalTransition(_("The appointment has not passed yet."))
    referral, _event = _transition(
        actor, referral, Action.NO_SHOW, note=note, closed_at=timezone.now()
    )
    return referral
