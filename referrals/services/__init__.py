"""Every change of a referral: one keyword-only function per action, each in one transaction.

Each locks the referral row, checks the actor's side (sender, receiver, alliance office) and the
current state against the table in `referrals.workflow`, applies the change, writes a
ReferralEvent and queues the notifications it causes, all through `core.workflow` (the
notifications go out through the transactional outbox after the commit).

- `checks`: what every write checks and derives (direction, target, priorities, the number);
- `creation`: a new referral, its edits, the referral back;
- `transitions`: submit, accept, ... no-show, and the follow-up tasks;
- `attachments`: documents;
- `deadlines`: the response limits and the job that escalates and expires late referrals.

Callers import every name from `referrals.services`.
"""

from ..models import Referral
from ..workflow import RECEIVER, REFERRAL, SENDER, SYSTEM, TRANSITIONS, sides_of
from .attachments import SIGNATURES, referral_attach
from .checks import clean_follow_up_items, direction_between, next_number
from .creation import EDITABLE, referral_create, referral_refer_back, referral_update
from .deadlines import escalate_overdue, response_limit, response_limits_set
from .transitions import (
    follow_up_done,
    referral_accept,
    referral_arrive,
    referral_cancel,
    referral_complete,
    referral_no_show,
    referral_redirect,
    referral_reject,
    referral_request_info,
    referral_schedule,
    referral_submit,
)


def allowed_actions(actor, referral: Referral) -> list[str]:
    """Actions the actor may take now: what the detail page shows as buttons."""
    return REFERRAL.allowed_actions(actor, referral)


__all__ = [
    "EDITABLE",
    "RECEIVER",
    "SENDER",
    "SIGNATURES",
    "SYSTEM",
    "TRANSITIONS",
    "allowed_actions",
    "clean_follow_up_items",
    "direction_between",
    "escalate_overdue",
    "follow_up_done",
    "next_number",
    "referral_accept",
    "referral_arrive",
    "referral_attach",
    "referral_cancel",
    "referral_complete",
    "referral_create",
    "referral_no_show",
    "referral_redirect",
    "referral_refer_back",
    "referral_reject",
    "referral_request_info",
    "referral_schedule",
    "referral_submit",
    "referral_update",
    "response_limit",
    "response_limits_set",
    "sides_of",
]
