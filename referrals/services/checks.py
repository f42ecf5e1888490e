"""What every referral write checks and derives: the direction, the target, the priorities, the
number, the fields; and the event of a step that changes no state."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from alliance.choices import KIND_TIER, Tier
from alliance.models import Department, Institution, Patient
from core import numbering

from ..choices import Direction, FollowUpKind, Service, Urgency
from ..models import DailyCounter, Referral, ReferralEvent
from ..validators import receiving_departments, referral_targets
from ..workflow import REFERRAL

TIER_RANK = {Tier.TERTIARY: 0, Tier.SECONDARY: 1, Tier.PRIMARY: 2}


def direction_between(source: Institution, target: Institution) -> str:
    """The direction a referral has, from the two institutions alone (see Direction): within
    one centre's tree an internal transfer, otherwise by the tiers (up, down, or lateral)."""
    if source.tree_root.pk == target.tree_root.pk:
        return Direction.INTERNAL
    source_rank = TIER_RANK.get(KIND_TIER.get(source.kind), 3)
    target_rank = TIER_RANK.get(KIND_TIER.get(target.kind), 3)
    if source_rank > target_rank:
        return Direction.UP
    if source_rank < target_rank:
        return Direction.DOWN
    return Direction.LATERAL


def check_direction(claimed: str | None, derived: str) -> None:
    """A client may say the direction; it must be the derived one (issue 13, item 5)."""
    if claimed and claimed != derived:
        raise ValidationError(
            {
                "direction": _(
                    "The direction follows from the two institutions: this referral is "
                    "%(direction)s, not %(claimed)s."
                )
                % {"direction": Direction(derived).label, "claimed": _direction_label(claimed)}
            }
        )


def _direction_label(value: str) -> str:
    return Direction(value).label if value in Direction.values else value


def next_number(day: datetime.date) -> str:
    """ZZ-YYYYMMDD-NNNN from a per-day counter row, locked so two submissions never collide."""
    return numbering.next_number(DailyCounter, "ZZ-{day:%Y%m%d}-{last:04d}", day=day)


def priorities(patient: Patient, urgency: str, service: str) -> dict[str, bool]:
    """Family-doctor-signed residents and emergencies get the alliance's priority services."""
    priority = patient.signed or urgency == Urgency.EMERGENCY
    return {
        "priority_reception": priority,
        "priority_exam": priority and service == Service.EXAM,
        "priority_admission": priority and service == Service.ADMISSION,
    }


def check_target(source: Institution, target: Institution | None, department: Department | None):
    errors = {}
    if target is None:
        errors["to_institution"] = _("Choose the institution to refer to.")
    elif target.pk == source.pk:
        errors["to_institution"] = _("A referral goes to another institution.")
    elif not referral_targets(source).filter(pk=target.pk).exists():
        errors["to_institution"] = _("The institution is not an active member of your alliance.")
    if department is not None and target is not None:
        if department.institution_id != target.pk:
            errors["to_department"] = _("The department belongs to another institution.")
        elif not receiving_departments(target).filter(pk=department.pk).exists():
            errors["to_department"] = _("This department does not take referrals.")
    if errors:
        raise ValidationError(errors)


def validate(referral: Referral) -> None:
    errors = {}
    if referral.service == Service.EXAM and not referral.exam_type:
        errors["exam_type"] = _("Choose the examination.")
    try:
        # Related rows were fetched and checked above, and the two check constraints are
        # checked here in words: the database still enforces all of them.
        referral.full_clean(
            exclude=[
                "number",
                "referring_user",
                "patient",
                "from_institution",
                "to_institution",
                "from_department",
                "to_department",
                "returns_referral",
            ],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        errors = exc.message_dict | errors
    if errors:
        raise ValidationError(errors)


def clean_follow_up_items(items) -> list[dict]:
    """[{kind, due_in_days, description}], each checked; a field error names the list."""
    cleaned, problems = [], []
    for index, item in enumerate(items or []):
        try:
            kind = item["kind"]
            days = int(item["due_in_days"])
            text = str(item.get("description", "")).strip()
        except (KeyError, TypeError, ValueError):
            problems.append(
                _("Item %(n)s needs kind, due_in_days and description.") % {"n": index + 1}
            )
            continue
        if kind not in FollowUpKind.values or not 1 <= days <= 365 or not text or len(text) > 300:
            problems.append(
                _("Item %(n)s: a known kind, 1-365 days and a description.") % {"n": index + 1}
            )
            continue
        cleaned.append({"kind": kind, "due_in_days": days, "description": text})
    if problems:
        raise ValidationError({"follow_up": problems})
    return cleaned


def record(
    referral: Referral, action: str, actor, from_status: str, note: str = "", effects=(), **data
) -> ReferralEvent:
    """The event of a step that changes no state (creation, attachment, escalation)."""
    return REFERRAL.record(
        referral, action, actor, from_status, note=note, data=data, effects=effects
    )
