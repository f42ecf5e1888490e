"""Creating and editing a referral: a new draft (submitted at once when asked), its edits, and
the referral back that a completed upward referral starts."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.choices import Role
from alliance.models import Department, Institution, Patient
from alliance.visibility import grant_visibility
from core.access import profile_of
from core.errors import ActionNotAllowed

from ..choices import Action, Service, Urgency
from ..models import Referral
from ..querysets import referral_scope
from ..validators import check_sending_department
from ..workflow import REFERRAL
from .checks import (
    check_direction,
    check_target,
    direction_between,
    next_number,
    priorities,
    record,
    validate,
)
from .transitions import referral_submit

EDITABLE = (
    "to_institution",
    "to_department",
    "urgency",
    "service",
    "exam_type",
    "diagnosis_code",
    "diagnosis_text",
    "reason",
    "clinical_summary",
    "consent",
    "from_department",
)


@transaction.atomic
def referral_create(
    *,
    actor,
    patient: Patient,
    to_institution: Institution,
    diagnosis_code: str,
    diagnosis_text: str,
    reason: str,
    to_department: Department | None = None,
    from_department: Department | None = None,
    urgency: str = Urgency.ROUTINE,
    service: str = Service.OUTPATIENT,
    exam_type: str = "",
    clinical_summary: str = "",
    consent: bool = False,
    direction: str | None = None,
    submit: bool = False,
    idempotency_key: str = "",
    returns_referral: Referral | None = None,
    from_institution: Institution | None = None,
) -> tuple[Referral, bool]:
    """Create a draft (and submit it when asked). Returns (referral, created); a repeated
    idempotency key returns the first referral instead of a second one."""
    if idempotency_key:
        existing = Referral.objects.filter(referring_user=actor, idempotency_key=idempotency_key)
        if existing.exists():
            return existing.get(), False
    profile = profile_of(actor)
    if profile is None or profile.role not in (
        Role.COMMUNITY_STAFF,
        Role.HOSPITAL_STAFF,
        Role.ALLIANCE_OFFICE,
    ):
        raise ActionNotAllowed(_("Your role may not create referrals."))
    if not Patient.objects.restrict(actor).filter(pk=patient.pk).exists():
        raise ValidationError({"patient": _("Patient not found.")})
    source = profile.institution
    if from_institution is not None and from_institution.pk != source.pk:
        # The office (or a centre for its station) may refer on behalf of an institution it
        # works for: a referral back comes from the hospital that treated the patient.
        if not referral_scope(profile).filter(pk=from_institution.pk).exists():
            raise ActionNotAllowed(_("You may not refer on behalf of that institution."))
        source = from_institution
    check_target(source, to_institution, to_department)
    check_sending_department(source, from_department)
    derived = direction_between(source, to_institution)
    check_direction(direction, derived)
    diagnosis_code = diagnosis_code.strip().upper()
    referral = Referral(
        number=next_number(timezone.localdate()),
        direction=derived,
        urgency=urgency,
        service=service,
        exam_type=exam_type if service == Service.EXAM else "",
        patient=patient,
        from_institution=source,
        from_department=from_department
        or (profile.department if source.pk == profile.institution_id else None),
        referring_user=actor,
        to_institution=to_institution,
        to_department=to_department,
        diagnosis_code=diagnosis_code,
        diagnosis_text=diagnosis_text,
        reason=reason,
        clinical_summary=clinical_summary,
        consent=consent,
        idempotency_key=idempotency_key,
        returns_referral=returns_referral,
        **priorities(patient, urgency, service),
    )
    validate(referral)
    try:
        with transaction.atomic():
            referral.save()
    except IntegrityError:
        # A concurrent request with the same idempotency key won the race.
        if idempotency_key:
            return Referral.objects.get(
                referring_user=actor, idempotency_key=idempotency_key
            ), False
        raise
    record(referral, Action.CREATE, actor, "")
    grant_visibility(referral)
    if submit:
        referral = referral_submit(actor=actor, referral=referral)
    return referral, True


@transaction.atomic
def referral_update(
    *, actor, referral: Referral, direction: str | None = None, **changes
) -> Referral:
    """Edit a draft, or add the information the receiver asked for. The direction is derived
    again; a `direction` given must be that one."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    locked = REFERRAL.lock(referral)
    REFERRAL.check(actor, locked, Action.EDIT)
    changed = [name for name, value in changes.items() if getattr(locked, name) != value]
    for name, value in changes.items():
        setattr(locked, name, value)
    if "from_department" in changed:  # the same rule as on creation
        check_sending_department(locked.from_institution, locked.from_department)
    if "diagnosis_code" in changes:
        locked.diagnosis_code = locked.diagnosis_code.strip().upper()
    if locked.service != Service.EXAM:
        locked.exam_type = ""
    check_target(locked.from_institution, locked.to_institution, locked.to_department)
    locked.direction = direction_between(locked.from_institution, locked.to_institution)
    check_direction(direction, locked.direction)
    locked.__dict__.update(priorities(locked.patient, locked.urgency, locked.service))
    validate(locked)
    locked.save()
    locked, _event = REFERRAL.run(
        actor, locked, Action.EDIT, checked=True, data={"fields": changed}
    )
    grant_visibility(locked)
    return locked


@transaction.atomic
def referral_refer_back(
    *,
    actor,
    referral: Referral,
    reason: str = "",
    submit: bool = False,
    idempotency_key: str = "",
) -> tuple[Referral, bool]:
    """From a completed upward referral, start the downward one back to the referring
    institution, pre-filled with the outcome summary and the follow-up plan. A retry with the
    same idempotency key answers with the referral the first request created."""
    if idempotency_key:
        replayed = Referral.objects.filter(
            referring_user=actor, idempotency_key=idempotency_key, returns_referral=referral
        ).first()
        if replayed is not None:
            return replayed, False
    original = REFERRAL.lock(referral)
    REFERRAL.check(actor, original, Action.REFER_BACK)
    summary = original.outcome_summary
    if original.follow_up_plan:
        summary += "\n\n" + _("Follow-up plan: %(plan)s") % {"plan": original.follow_up_plan}
    back, created = referral_create(
        actor=actor,
        patient=original.patient,
        to_institution=original.from_institution,
        to_department=None,
        urgency=Urgency.ROUTINE,
        service=Service.OUTPATIENT,
        diagnosis_code=original.diagnosis_code,
        diagnosis_text=original.diagnosis_text,
        reason=reason or _("Stable after treatment: continue care in the community."),
        clinical_summary=summary,
        consent=original.consent,
        submit=submit,
        idempotency_key=idempotency_key,
        returns_referral=original,
        from_institution=original.to_institution,
    )
    if created:
        Referral.objects.filter(pk=back.pk).update(
            follow_up_plan=original.follow_up_plan, follow_up_items=original.follow_up_items
        )
        back.refresh_from_db()
        REFERRAL.run(
            actor, original, Action.REFER_BACK, checked=True, data={"returned_by": back.number}
        )
    return back, created
