"""Every change of a referral: one keyword-only function per action, each in one transaction.

Each locks the referral row, checks the actor's side (sender, receiver, alliance office) and the
current state against TRANSITIONS, applies the change and writes a ReferralEvent. Notifications
go through the transactional outbox (core.outbox): sent after the commit, so a failed
delivery never rolls back the referral, and retried by its sweeper, so none is lost.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.choices import KIND_TIER, Role, Tier
from alliance.models import Department, Institution, Patient
from alliance.visibility import grant_visibility
from core import numbering, outbox
from core.access import profile_of
from core.errors import ActionNotAllowed, IllegalTransition

from .choices import (
    OPEN_STATUSES,
    Action,
    Direction,
    FollowUpKind,
    Outcome,
    Service,
    Status,
    Urgency,
)
from .models import (
    DailyCounter,
    FollowUpTask,
    Referral,
    ReferralAttachment,
    ReferralEvent,
    ResponseLimit,
)
from .querysets import referral_scope
from .validators import check_sending_department, receiving_departments, referral_targets
from .workflow import FOLLOW_UP, RECEIVER, REFERRAL, SENDER, SYSTEM, TRANSITIONS, sides_of

__all__ = ["RECEIVER", "SENDER", "SYSTEM", "TRANSITIONS", "allowed_actions", "sides_of"]

TIER_RANK = {Tier.TERTIARY: 0, Tier.SECONDARY: 1, Tier.PRIMARY: 2}


def allowed_actions(actor, referral: Referral) -> list[str]:
    """Actions the actor may take now: what the detail page shows as buttons."""
    return REFERRAL.allowed_actions(actor, referral)


# --- helpers ---------------------------------------------------------------------------------


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


def _check_direction(claimed: str | None, derived: str) -> None:
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


def response_limit(urgency: str) -> tuple[datetime.timedelta, datetime.timedelta]:
    """(time to respond, further time before expiry) for an urgency: the office's or default."""
    limit = ResponseLimit.objects.filter(urgency=urgency).first()
    if limit is not None:
        minutes, expire_after = limit.minutes, limit.expire_after_minutes
    else:
        minutes, expire_after = settings.REFERRAL_RESPONSE_LIMITS[urgency]
    return datetime.timedelta(minutes=minutes), datetime.timedelta(minutes=expire_after)


def next_number(day: datetime.date) -> str:
    """ZZ-YYYYMMDD-NNNN from a per-day counter row, locked so two submissions never collide."""
    return numbering.next_number(DailyCounter, "ZZ-{day:%Y%m%d}-{last:04d}", day=day)


def _priorities(patient: Patient, urgency: str, service: str) -> dict[str, bool]:
    """Family-doctor-signed residents and emergencies get the alliance's priority services."""
    priority = patient.signed or urgency == Urgency.EMERGENCY
    return {
        "priority_reception": priority,
        "priority_exam": priority and service == Service.EXAM,
        "priority_admission": priority and service == Service.ADMISSION,
    }


def _check_target(source: Institution, target: Institution | None, department: Department | None):
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


def _record(referral: Referral, action: str, actor, from_status: str, note: str = "", **data):
    return REFERRAL.record(referral, action, actor, from_status, note=note, data=data)


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
    """Lock, check side and state, apply, record (core.workflow)."""
    return REFERRAL.run(
        actor, referral, action, changes=changes, note=note, data=event_data, effects=effects
    )


def _queue(task, *args) -> None:
    # Through the outbox: a broker that is down or hangs neither fails the change nor loses it.
    outbox.enqueue(task, *args)


# --- creating and editing ---------------------------------------------------------------------

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
    _check_target(source, to_institution, to_department)
    check_sending_department(source, from_department)
    derived = direction_between(source, to_institution)
    _check_direction(direction, derived)
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
        **_priorities(patient, urgency, service),
    )
    _validate(referral)
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
    _record(referral, Action.CREATE, actor, "")
    grant_visibility(referral)
    if submit:
        referral = referral_submit(actor=actor, referral=referral)
    return referral, True


def _validate(referral: Referral) -> None:
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
    _check_target(locked.from_institution, locked.to_institution, locked.to_department)
    locked.direction = direction_between(locked.from_institution, locked.to_institution)
    _check_direction(direction, locked.direction)
    locked.__dict__.update(_priorities(locked.patient, locked.urgency, locked.service))
    _validate(locked)
    locked.save()
    locked, _event = REFERRAL.run(
        actor, locked, Action.EDIT, checked=True, data={"fields": changed}
    )
    grant_visibility(locked)
    return locked


# --- the transitions ------------------------------------------------------------------------


@transaction.atomic
def referral_submit(*, actor, referral: Referral, note: str = "") -> Referral:
    if not referral.consent:
        raise ValidationError({"consent": _("Record the patient's consent before submitting.")})
    now = timezone.now()
    respond_within, _expiry = response_limit(referral.urgency)
    referral, event = _transition(
        actor,
        referral,
        Action.SUBMIT,
        note=note,
        submitted_at=now,
        due_at=now + respond_within,
        escalated_at=None,
        responded_at=None,
    )
    grant_visibility(referral)
    _announce_submission(referral, event)
    return referral


def _announce_submission(referral: Referral, event: ReferralEvent) -> None:
    from . import tasks

    _queue(tasks.notify_referral_submitted, referral.pk, event.pk)
    if referral.urgency == Urgency.EMERGENCY:
        _queue(tasks.send_pre_arrival_alert, referral.pk, event.pk)


@transaction.atomic
def referral_request_info(*, actor, referral: Referral, note: str) -> Referral:
    if not note.strip():
        raise ValidationError({"note": _("Say what information is needed.")})
    referral, event = _transition(actor, referral, Action.REQUEST_INFO, note=note, status_note=note)
    _notify_sender(referral, event, _("More information requested"), note)
    return referral


@transaction.atomic
def referral_accept(*, actor, referral: Referral, note: str = "") -> Referral:
    referral, event = _transition(
        actor, referral, Action.ACCEPT, note=note, responded_at=timezone.now()
    )
    if referral.direction == Direction.DOWN:
        _create_follow_ups(referral)
    _notify_sender(referral, event, _("Referral accepted"), note)
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
    referral, event = _transition(
        actor,
        referral,
        Action.REJECT,
        note=reason,
        status_note=reason,
        responded_at=now,
        closed_at=now,
    )
    _notify_sender(referral, event, _("Referral rejected"), reason)
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
    _check_target(current.from_institution, to_institution, to_department)
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
    referral, event = _transition(
        actor,
        referral,
        Action.REDIRECT,
        note=note,
        to_institution=to_institution,
        to_department=to_department,
        direction=direction_between(current.from_institution, to_institution),
        due_at=now + respond_within,
        escalated_at=None,
        event_data=previous,
    )
    grant_visibility(referral)
    _announce_submission(referral, event)
    return referral


@transaction.atomic
def referral_schedule(
    *, actor, referral: Referral, appointment_at: datetime.datetime, place: str, note: str = ""
) -> Referral:
    if referral.submitted_at and appointment_at < referral.submitted_at:
        raise ValidationError({"appointment_at": _("The appointment cannot precede the referral.")})
    if not place.strip():
        raise ValidationError({"place": _("Say where the patient should go.")})
    referral, event = _transition(
        actor,
        referral,
        Action.SCHEDULE,
        note=note,
        appointment_at=appointment_at,
        appointment_place=place,
        responded_at=referral.responded_at or timezone.now(),
    )
    _notify_sender(
        referral,
        event,
        _("Appointment scheduled"),
        f"{timezone.localtime(appointment_at):%Y-%m-%d %H:%M} {place}",
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
    referral, event = _transition(
        actor,
        referral,
        Action.COMPLETE,
        note=summary,
        outcome=outcome,
        outcome_summary=summary,
        follow_up_plan=follow_up_plan,
        follow_up_items=items,
        closed_at=timezone.now(),
    )
    _notify_sender(referral, event, _("Referral completed"), summary)
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


def _notify_sender(referral: Referral, event: ReferralEvent, title: str, body: str) -> None:
    from . import tasks

    _queue(tasks.notify_referral_sender, referral.pk, event.pk, str(title), body)


# --- response limits ------------------------------------------------------------------------


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


# --- attachments ----------------------------------------------------------------------------

# Signatures at the start of the file decide the type; the name and the browser's word do not.
SIGNATURES = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
]


@transaction.atomic
def referral_attach(*, actor, referral: Referral, upload) -> ReferralAttachment:
    """Attach a document; either side may, while the referral is open or a draft."""
    import hashlib

    locked = Referral.objects.select_for_update().get(pk=referral.pk)
    if not sides_of(actor, locked) & {SENDER, RECEIVER}:
        raise ActionNotAllowed(_("Only the two institutions of the referral may attach files."))
    if locked.status not in (Status.DRAFT, *OPEN_STATUSES):
        raise IllegalTransition(_("Files can no longer be attached to this referral."))
    limit = settings.REFERRAL_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {"file": _("The file is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)}}
        )
    head = upload.read(16)
    upload.seek(0)
    kind = next(((ctype, ext) for magic, ctype, ext in SIGNATURES if head.startswith(magic)), None)
    if kind is None:
        raise ValidationError({"file": _("Only PDF, JPEG and PNG files can be attached.")})
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    attachment = ReferralAttachment(
        referral=locked,
        name=upload.name[-255:],
        content_type=kind[0],
        extension=kind[1],
        size=upload.size,
        sha256=digest.hexdigest(),
        uploaded_by=actor,
    )
    attachment.file.save(f"upload.{kind[1]}", upload, save=False)
    attachment.save()
    _record(locked, Action.ATTACH, actor, locked.status, note=attachment.name)
    return attachment


# --- the platform's own jobs ----------------------------------------------------------------


def escalate_overdue(now: datetime.datetime | None = None) -> dict[str, int]:
    """Escalate unanswered referrals past their deadline to the alliance office (once each),
    and expire those long past it. Safe to run any number of times."""
    from . import tasks

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
            event = _record(fresh, Action.ESCALATE, None, fresh.status)
            _queue(tasks.notify_referral_overdue, fresh.pk, event.pk)
            escalated += 1
    for urgency in Urgency.values:
        _respond, expire_after = response_limit(urgency)
        stale = overdue.filter(urgency=urgency, due_at__lt=now - expire_after)
        for referral in stale.only("pk"):
            with transaction.atomic():
                try:
                    _transition(None, referral, Action.EXPIRE, closed_at=now)
                except IllegalTransition:
                    continue  # answered meanwhile
                expired += 1
    return {"escalated": escalated, "expired": expired}
