"""The referral's and the follow-up task's state machines (core.workflow): who may take which
step from which state. The services take the steps; the page, the API and the tests read it."""

from __future__ import annotations

import rules
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alliance.choices import Role
from core.access import profile_of
from core.workflow import SYSTEM, Machine, transition

from .choices import Action, Direction, Status, Urgency
from .models import FollowUpEvent, FollowUpTask, Referral, ReferralEvent
from .querysets import referral_scope

SENDER, RECEIVER = "sender", "receiver"
__all__ = ["FOLLOW_UP", "REFERRAL", "RECEIVER", "SENDER", "SYSTEM", "TRANSITIONS", "sides_of"]


# --- who is acting --------------------------------------------------------------------------


def sides_of(actor, referral: Referral) -> set[str]:
    """The sides of the referral the actor may act for; the alliance office acts for both."""
    if actor is None:
        return {SYSTEM}
    profile = profile_of(actor)
    if actor.is_active and actor.is_superuser:
        if _is_senders(actor, profile, referral):
            return {SENDER}
        return {SENDER, RECEIVER}
    if profile is None:
        return set()
    scope = set(referral_scope(profile).values_list("pk", flat=True))
    if profile.role == Role.ALLIANCE_OFFICE:
        both = {referral.from_institution_id, referral.to_institution_id} <= scope
        if not both:
            return set()
        return {SENDER} if _is_senders(actor, profile, referral) else {SENDER, RECEIVER}
    sides = set()
    if referral.from_institution_id in scope:
        sides.add(SENDER)
    if referral.to_institution_id in scope and not _is_senders(actor, profile, referral):
        sides.add(RECEIVER)
    return sides


def _is_senders(actor, profile, referral: Referral) -> bool:
    """Whoever wrote the referral, and the staff of the institution that sent it, never act for
    the receiving side (a centre referring to its own station cannot accept for it)."""
    return actor.pk == referral.referring_user_id or (
        profile is not None and profile.institution_id == referral.from_institution_id
    )


# The referral back is a new referral, written by staff of the receiving institution: an
# account without a staff profile (the superuser) cannot, so it gets no button.
has_staff_profile = rules.predicate(lambda actor: profile_of(actor) is not None, name="has_profile")


def _arrival_possible(referral: Referral) -> bool:
    # An emergency patient may reach the hospital before anyone has clicked "accept".
    return referral.status != Status.SUBMITTED or referral.urgency == Urgency.EMERGENCY


def _not_referred_back(referral: Referral) -> bool:
    # The state first: the reverse look-up is a query, asked only of a completed referral.
    return (
        referral.status == Status.COMPLETED
        and referral.direction == Direction.UP
        and not hasattr(referral, "referred_back_by")
    )


def _why_not_referred_back(referral: Referral) -> str:
    if hasattr(referral, "referred_back_by"):
        return _("This referral has already been referred back.")
    return _("Only a completed upward referral can be referred back.")


S = Status
CANCELLABLE = {S.DRAFT, S.SUBMITTED, S.INFO_REQUESTED, S.ACCEPTED, S.SCHEDULED}
TRANSITIONS = {
    Action.SUBMIT: transition({S.DRAFT, S.INFO_REQUESTED}, S.SUBMITTED, SENDER),
    Action.ACCEPT: transition({S.SUBMITTED}, S.ACCEPTED, RECEIVER),
    Action.REQUEST_INFO: transition({S.SUBMITTED}, S.INFO_REQUESTED, RECEIVER),
    Action.REJECT: transition({S.SUBMITTED}, S.REJECTED, RECEIVER),
    Action.REDIRECT: transition({S.SUBMITTED}, S.SUBMITTED, RECEIVER),
    Action.SCHEDULE: transition({S.ACCEPTED, S.SCHEDULED}, S.SCHEDULED, RECEIVER),
    Action.ARRIVE: transition(
        {S.ACCEPTED, S.SCHEDULED, S.SUBMITTED}, S.ARRIVED, RECEIVER, when=_arrival_possible
    ),
    Action.COMPLETE: transition({S.ARRIVED}, S.COMPLETED, RECEIVER),
    Action.NO_SHOW: transition({S.SCHEDULED}, S.NO_SHOW, RECEIVER),
    Action.CANCEL: transition(CANCELLABLE, S.CANCELLED, SENDER),
    Action.EXPIRE: transition({S.SUBMITTED}, S.EXPIRED, SYSTEM),
    # Steps that keep the state: the referral back (a new referral) and the sender's edit.
    Action.REFER_BACK: transition(
        {S.COMPLETED},
        None,
        RECEIVER,
        also=has_staff_profile,
        when=_not_referred_back,
        refusal=_why_not_referred_back,
        forbidden=gettext_lazy("Only the receiving institution may refer the patient back."),
    ),
    Action.EDIT: transition(
        {S.DRAFT, S.INFO_REQUESTED},
        None,
        SENDER,
        forbidden=gettext_lazy("Only the referring institution may edit a referral."),
        illegal=gettext_lazy("Only a draft, or one awaiting more information, can be edited."),
    ),
}


def _referral_event(referral: Referral, *, at, **fields) -> ReferralEvent:
    return ReferralEvent(referral=referral, **fields)  # `at` is the row's own insert time


REFERRAL = Machine(
    Referral,
    TRANSITIONS,
    sides=sides_of,
    event=_referral_event,
    labels=lambda action: Action(action).label,
    illegal=gettext_lazy("This referral is %(status)s; it cannot be %(action)s now."),
    side_labels={
        SENDER: gettext_lazy("referring institution"),
        RECEIVER: gettext_lazy("receiving institution"),
    },
)
REFERRAL.add_rules("referrals.referral")


# --- follow-up tasks --------------------------------------------------------------------------

OPEN, DONE, RESPONSIBLE = "open", "done", "responsible"


def follow_up_sides(actor, task: FollowUpTask) -> set[str]:
    """RESPONSIBLE for the staff of the institution that does the follow-up (and the superuser)."""
    if actor is None:
        return set()
    if actor.is_superuser:
        return {RESPONSIBLE}
    profile = profile_of(actor)
    scope = set(referral_scope(profile).values_list("pk", flat=True)) if profile else set()
    return {RESPONSIBLE} if task.institution_id in scope else set()


FOLLOW_UP = Machine(
    FollowUpTask,
    {
        "done": transition(
            {OPEN},
            DONE,
            RESPONSIBLE,
            forbidden=gettext_lazy("Only the responsible institution may record the follow-up."),
            illegal=gettext_lazy("This follow-up has already been recorded."),
        ),
    },
    sides=follow_up_sides,
    event=lambda task, **fields: FollowUpEvent(task=task, **fields),
    field=None,  # done when it has `done_at`: no status column to keep in step
    state=lambda task: DONE if task.done_at is not None else OPEN,
)
FOLLOW_UP.add_rules("referrals.followuptask")
