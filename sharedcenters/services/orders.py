"""Every change of a diagnostic order: one keyword-only function per action, one transaction each.

Each locks the order row, checks the actor's side (orderer or center) and the current state
against TRANSITIONS, applies the change and writes an OrderEvent with the same timestamp as the
order's own time column, so turnaround computed from either agrees. Notifications are queued on
commit. The alliance office reads orders but does not act on them.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.choices import Role
from alliance.models import Department, Patient
from core import numbering, outbox
from core.access import profile_of
from core.errors import ActionNotAllowed, IllegalTransition

from .. import selectors
from ..choices import (
    DIAGNOSTIC_KINDS,
    ORDER_PREFIX,
    CenterKind,
    OrderAction,
    OrderStatus,
    Priority,
    RejectionReason,
    ResultFlag,
)
from ..models import (
    ExamOrder,
    ExamOrderItem,
    ImagingSlot,
    LabResult,
    OrderCounter,
    OrderEvent,
    ReportVersion,
    ServiceItem,
    SharedCenter,
)
from ..querysets import alliance_ids_of
from ..workflow import CENTER, ORDER_TRANSITIONS, ORDERER, ORDERS, lock_order, order_sides

# The table and the sides live in ..workflow; these names are kept for the callers and tests.
__all__ = ["CENTER", "ORDERER", "TRANSITIONS", "allowed_actions", "sides_of"]
S = OrderStatus
TRANSITIONS = ORDER_TRANSITIONS
sides_of = order_sides


def allowed_actions(actor, order: ExamOrder) -> list[str]:
    """Actions the actor may take now: the buttons of the detail page."""
    return ORDERS.allowed_actions(actor, order)


# --- helpers ---------------------------------------------------------------------------------


def next_number(prefix: str, day: datetime.date) -> str:
    """JY-YYYYMMDD-NNNN (lab), YX- (imaging), XD- (ECG), from a locked per-day counter row."""
    return numbering.next_number(
        OrderCounter, "{prefix}-{day:%Y%m%d}-{last:04d}", prefix=prefix, day=day
    )


def _record(order: ExamOrder, action: str, actor, from_status: str, at, note: str = "", **data):
    return ORDERS.record(order, action, actor, from_status, at=at, note=note, data=data)


_lock = lock_order


def _check(actor, locked: ExamOrder, action: str):
    """Side, kind and state, in that order: the same answer whatever else the request holds."""
    return ORDERS.check(actor, locked, action)


def _transition(
    actor,
    order: ExamOrder,
    action: str,
    *,
    note: str = "",
    event_data: dict | None = None,
    at: datetime.datetime | None = None,
    checked: bool = False,
    **changes,
) -> tuple[ExamOrder, OrderEvent]:
    """Lock, check, apply, record (core.workflow); a caller that had to lock and check first
    (to validate against the locked row) passes it with `checked=True`."""
    return ORDERS.run(
        actor,
        order,
        action,
        changes=changes,
        note=note,
        data=event_data,
        at=at or timezone.now(),
        checked=checked,
    )


def _queue(task, *args) -> None:
    # Through the outbox: a broker that is down or hangs neither fails the change nor loses it.
    outbox.enqueue(task, *args)


def _tasks():
    from .. import tasks  # tasks import services: resolved at call time

    return tasks


# --- ordering --------------------------------------------------------------------------------


@transaction.atomic
def order_create(
    *,
    actor,
    center: SharedCenter,
    patient: Patient,
    items: list[ServiceItem],
    priority: str = Priority.ROUTINE,
    clinical_info: str = "",
    ordering_department: Department | None = None,
    referral=None,
    ordered_at: datetime.datetime | None = None,
) -> ExamOrder:
    """Place an order for one patient at one center; imaging orders hold one modality."""
    profile = profile_of(actor)
    if profile is None or profile.role not in (Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF):
        raise ActionNotAllowed(_("Only clinical staff of a member institution place orders."))
    errors: dict[str, str] = {}
    if priority not in Priority.values:
        errors["priority"] = _("Choose routine or urgent.")
    if not Patient.objects.visible_to(profile).filter(pk=patient.pk).exists():
        errors["patient"] = _("Patient not found.")
    if (
        not center.is_active
        or center.kind not in DIAGNOSTIC_KINDS
        or center.alliance_id not in alliance_ids_of(profile)
    ):
        errors["center"] = _("Choose a diagnostic center of your alliance.")
    items = list(items)
    if not items:
        errors["items"] = _("Choose at least one item.")
    elif any(item.center_id != center.pk or not item.is_active for item in items):
        errors["items"] = _("Every item must be an active item of the chosen center.")
    elif len({item.pk for item in items}) != len(items):
        errors["items"] = _("An item is listed twice.")
    elif center.kind == CenterKind.IMAGING and len({item.modality for item in items}) > 1:
        errors["items"] = _("An imaging order books one modality; order the others separately.")
    if ordering_department is not None and ordering_department.institution_id != (
        profile.institution_id
    ):
        errors["ordering_department"] = _("The department belongs to another institution.")
    if referral is not None:
        from referrals.models import Referral

        visible = Referral.objects.visible_to(profile).filter(pk=referral.pk).exists()
        if not visible or referral.patient_id != patient.pk:
            errors["referral"] = _("The referral is not one of this patient's that you can see.")
    if errors:
        raise ValidationError(errors)
    from referrals.choices import Status as ReferralStatus

    referred = referral is not None and referral.status not in (
        ReferralStatus.DRAFT,
        ReferralStatus.CANCELLED,
    )
    at = ordered_at or timezone.now()
    order = ExamOrder.objects.create(
        number=next_number(ORDER_PREFIX[center.kind], timezone.localdate(at)),
        center=center,
        priority=priority,
        patient=patient,
        ordering_institution_id=profile.institution_id,
        ordering_department=ordering_department or profile.department,
        ordering_user=actor,
        clinical_info=clinical_info,
        referral=referral,
        priority_channel=patient.signed or referred,
        target_hours=max(item.target_hours(priority) for item in items),
        ordered_at=at,
    )
    ExamOrderItem.objects.bulk_create(
        ExamOrderItem(order=order, item=item, price=item.price) for item in items
    )
    _record(order, OrderAction.CREATE, actor, "", at)
    return order


@transaction.atomic
def order_collect(*, actor, order: ExamOrder, note: str = "", at=None) -> ExamOrder:
    """The member took the specimen (or recorded the ECG) and sends it to the center."""
    at = at or timezone.now()
    order, _event = _transition(
        actor,
        order,
        OrderAction.COLLECT,
        note=note,
        at=at,
        collected_at=at,
        rejection_reason="",
        status_note="",
    )
    return order


@transaction.atomic
def order_schedule(
    *, actor, order: ExamOrder, slot: ImagingSlot, note: str = "", at=None
) -> ExamOrder:
    """Book the patient into a slot; green-channel patients may use the reserved places.

    The order row is locked first, then the slot row: every booking of a slot waits for the one
    before it, and the places taken are counted from the orders under that lock."""
    at = at or timezone.now()
    locked = _lock(order)
    _check(actor, locked, OrderAction.SCHEDULE)  # before the slot: no peeking at other bookings
    slot = ImagingSlot.objects.select_for_update().get(pk=slot.pk)
    modality = locked.items.values_list("item__modality", flat=True).first()
    if slot.center_id != locked.center_id or slot.modality != modality:
        raise ValidationError({"slot": _("Choose a slot of this center for the order's modality.")})
    if slot.starts_at <= at:
        raise ValidationError({"slot": _("This slot has already begun.")})
    taken = (
        slot.orders.exclude(status=S.CANCELLED)
        .exclude(pk=locked.pk)
        .aggregate(total=Count("pk"), ordinary=Count("pk", filter=Q(priority_channel=False)))
    )
    if taken["total"] >= slot.capacity:
        raise IllegalTransition(_("This slot is full; choose another time."))
    slot.booked, slot.booked_priority = taken["total"], taken["total"] - taken["ordinary"]
    if not selectors.places_for(slot, locked.priority_channel):  # the green channel's rule
        raise IllegalTransition(
            _("The remaining places of this slot are reserved for the alliance green channel.")
        )
    order, _event = _transition(
        actor,
        locked,
        OrderAction.SCHEDULE,
        note=note,
        at=at,
        checked=True,
        slot=slot,
        event_data={"slot": slot.pk, "starts_at": slot.starts_at.isoformat()},
    )
    return order


@transaction.atomic
def order_receive(*, actor, order: ExamOrder, note: str = "", at=None) -> ExamOrder:
    """Specimen (or patient) at the center: the turnaround clock for the target starts."""
    at = at or timezone.now()
    due = at + datetime.timedelta(hours=float(order.target_hours))
    order, _event = _transition(
        actor, order, OrderAction.RECEIVE, note=note, at=at, received_at=at, due_at=due
    )
    return order


@transaction.atomic
def order_reject(*, actor, order: ExamOrder, reason: str, note: str = "", at=None) -> ExamOrder:
    """The specimen cannot be used; the orderer collects a new one (or cancels)."""
    if reason not in RejectionReason.values:
        raise ValidationError({"reason": _("Choose a rejection reason.")})
    if reason == RejectionReason.OTHER and not note.strip():
        raise ValidationError({"note": _("Describe the problem with the specimen.")})
    at = at or timezone.now()
    order, event = _transition(
        actor,
        order,
        OrderAction.REJECT,
        note=note,
        at=at,
        rejection_reason=reason,
        status_note=note,
        received_at=None,
        due_at=None,
        event_data={"reason": reason},
    )
    _queue(_tasks().notify_orderer, order.pk, event.pk)
    return order


@transaction.atomic
def order_start(*, actor, order: ExamOrder, note: str = "", at=None) -> ExamOrder:
    at = at or timezone.now()
    order, _event = _transition(actor, order, OrderAction.START, note=note, at=at, started_at=at)
    return order


def _clean_results(results: list[dict]) -> list[LabResult]:
    rows, errors = [], []
    for index, result in enumerate(results, start=1):
        analyte = str(result.get("analyte", "")).strip()
        value = str(result.get("value", "")).strip()
        flag = result.get("flag") or ""
        if not analyte or not value:
            errors.append(_("Row %(row)d: analyte and value are required.") % {"row": index})
        if flag not in ResultFlag.values:
            errors.append(_("Row %(row)d: unknown flag.") % {"row": index})
        rows.append(
            LabResult(
                analyte=analyte[:80],
                value=value[:40],
                unit=str(result.get("unit", ""))[:20],
                reference_range=str(result.get("reference_range", ""))[:40],
                flag=flag,
            )
        )
    if errors:
        raise ValidationError({"results": errors})
    return rows


def _clean_report(
    locked: ExamOrder, results, impression: str, critical: bool, critical_note: str
) -> tuple[list[LabResult], bool, str]:
    """The checked result rows, and whether the report is critical and why."""
    rows = _clean_results(results or [])
    if locked.center.kind == CenterKind.LAB and not rows:
        raise ValidationError({"results": _("Enter at least one result.")})
    if locked.center.kind != CenterKind.LAB and not impression.strip():
        raise ValidationError({"impression": _("Enter the impression.")})
    critical = critical or any(row.flag == ResultFlag.CRITICAL for row in rows)
    if critical and not critical_note.strip():
        flagged = [f"{row.analyte} {row.value} {row.unit}".strip() for row in rows if row.flag]
        critical_note = "; ".join(flagged) or impression
    return rows, critical, critical_note


@transaction.atomic
def order_report(
    *,
    actor,
    order: ExamOrder,
    results: list[dict] | None = None,
    findings: str = "",
    impression: str = "",
    critical: bool = False,
    critical_note: str = "",
    reviewed_by=None,
    at=None,
) -> ExamOrder:
    """The center's report: results for the lab, findings and impression for imaging and ECG.

    A critical result (flag `critical` on any analyte, or marked by the reporting doctor)
    alerts the ordering department at once; the time to acknowledgement is then measured."""
    locked = _lock(order)
    _check(actor, locked, OrderAction.REPORT)  # who and when first, then what
    _check_reviewer(locked, reviewed_by)
    rows, critical, critical_note = _clean_report(
        locked, results, impression, critical, critical_note
    )
    at = at or timezone.now()
    order, event = _transition(
        actor,
        locked,
        OrderAction.REPORT,
        at=at,
        checked=True,
        reported_at=at,
        reported_by=actor,
        reviewed_by=reviewed_by,
        findings=findings,
        impression=impression,
        critical=critical,
        critical_note=critical_note if critical else "",
        event_data={"critical": critical},
    )
    order.results.all().delete()
    for row in rows:
        row.order = order
    LabResult.objects.bulk_create(rows)
    tasks = _tasks()
    if critical:
        _queue(tasks.alert_critical_value, order.pk, event.pk)
    else:
        _queue(tasks.notify_orderer, order.pk, event.pk)
    return order


def _check_reviewer(order: ExamOrder, reviewed_by) -> None:
    """The reviewer of a report is a colleague at the center (the API's field says the same)."""
    if reviewed_by is not None and not (
        selectors.center_colleagues(order.center).filter(pk=reviewed_by.pk).exists()
    ):
        raise ValidationError({"reviewed_by": _("Choose a colleague of this center.")})


@transaction.atomic
def order_amend(
    *,
    actor,
    order: ExamOrder,
    reason: str,
    results: list[dict] | None = None,
    findings: str = "",
    impression: str = "",
    critical: bool = False,
    critical_note: str = "",
    reviewed_by=None,
    at=None,
) -> ExamOrder:
    """Correct an issued report. The report it replaces is kept as a `ReportVersion` with who
    amended it, when and why; the order shows the new one and goes back to the orderer to read.

    The first report's time stays the order's `reported_at`: turnaround counts to it. A critical
    value the amendment adds (or changes) is alerted and must be acknowledged again."""
    reason = (reason or "").strip()
    locked = _lock(order)
    _check(actor, locked, OrderAction.AMEND)
    _check_reviewer(locked, reviewed_by)
    if not reason:
        raise ValidationError({"reason": _("Give the reason for amending the report.")})
    rows, critical, critical_note = _clean_report(
        locked, results, impression, critical, critical_note
    )
    at = at or timezone.now()
    previous = locked.report_versions.count()
    ReportVersion.objects.create(
        order=locked,
        version=previous + 1,
        reported_at=_current_report_time(locked),
        reported_by_id=locked.reported_by_id,
        reviewed_by_id=locked.reviewed_by_id,
        findings=locked.findings,
        impression=locked.impression,
        critical=locked.critical,
        critical_note=locked.critical_note,
        superseded_at=at,
        superseded_by=actor,
        reason=reason,
        results=[
            {
                "analyte": r.analyte,
                "value": r.value,
                "unit": r.unit,
                "reference_range": r.reference_range,
                "flag": r.flag,
            }
            for r in locked.results.all()
        ],
    )
    new_alert = critical and (not locked.critical or critical_note != locked.critical_note)
    changes = {
        "reported_by": actor,
        "reviewed_by": reviewed_by,
        "findings": findings,
        "impression": impression,
        "critical": critical,
        "critical_note": critical_note if critical else "",
        "acknowledged_at": None,
    }
    if new_alert or not critical:
        changes.update(
            critical_acknowledged_at=None, critical_acknowledged_by=None, critical_escalated_at=None
        )
    order, event = _transition(
        actor,
        locked,
        OrderAction.AMEND,
        note=reason,
        at=at,
        checked=True,
        event_data={"version": previous + 2, "critical": critical},
        **changes,
    )
    order.results.all().delete()  # the old rows live on in the version just written
    for row in rows:
        row.order = order
    LabResult.objects.bulk_create(rows)
    tasks = _tasks()
    if new_alert:
        _queue(tasks.alert_critical_value, order.pk, event.pk)
    else:
        _queue(tasks.notify_orderer, order.pk, event.pk)
    return order


def _current_report_time(order: ExamOrder) -> datetime.datetime:
    """When the report on the order was issued: the last amendment's time, or the first report."""
    last = order.report_versions.order_by("-version").first()
    return last.superseded_at if last else order.reported_at


@transaction.atomic
def order_acknowledge(*, actor, order: ExamOrder, note: str = "", at=None) -> ExamOrder:
    """The orderer has read the report (and, for a critical value, acted on it)."""
    at = at or timezone.now()
    order, _event = _transition(
        actor, order, OrderAction.ACKNOWLEDGE, note=note, at=at, acknowledged_at=at
    )
    if order.critical:  # the locked row's flag, not the caller's possibly older copy
        order.critical_acknowledged_at, order.critical_acknowledged_by = at, actor
        order.save(update_fields=["critical_acknowledged_at", "critical_acknowledged_by"])
    return order


@transaction.atomic
def order_cancel(*, actor, order: ExamOrder, reason: str, at=None) -> ExamOrder:
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for cancelling.")})
    at = at or timezone.now()
    order, _event = _transition(
        actor, order, OrderAction.CANCEL, note=reason, at=at, cancelled_at=at, status_note=reason
    )
    return order


# --- critical values nobody has acknowledged ------------------------------------------------


def critical_ack_limit() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.CRITICAL_VALUE_ACK_MINUTES)


def escalate_critical_values(now: datetime.datetime | None = None) -> dict:
    """Escalate every critical value unacknowledged past the limit, once (beat, every minute)."""
    now = now or timezone.now()
    since = now - critical_ack_limit()
    # A critical value an amendment brought counts from the amendment, not the first report.
    amended_since = OrderEvent.objects.filter(
        order=OuterRef("pk"), action=OrderAction.AMEND, at__gt=since
    )
    pending = ExamOrder.objects.filter(
        ~Exists(amended_since),
        critical=True,
        critical_acknowledged_at__isnull=True,
        critical_escalated_at__isnull=True,
        status=S.REPORTED,
        reported_at__lte=since,
    ).values_list("pk", flat=True)
    escalated = 0
    for pk in pending:
        with transaction.atomic():
            order = ExamOrder.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if order is None or order.critical_escalated_at or order.critical_acknowledged_at:
                continue  # another worker has it, or it was acknowledged meanwhile
            order.critical_escalated_at = now
            order.save(update_fields=["critical_escalated_at"])
            event = _record(order, OrderAction.ESCALATE, None, order.status, now)
            _queue(_tasks().escalate_critical_value, order.pk, event.pk)
            escalated += 1
    return {"escalated": escalated}
