"""Every change of a diagnostic order: one keyword-only function per action, one transaction each.

Each locks the order row, checks the actor's side (orderer or center) and the current state
against TRANSITIONS, applies the change and writes an OrderEvent with the same timestamp as the
order's own time column, so turnaround computed from either agrees; the notifications a step
causes are its effects, queued through the outbox in the same transaction (core.workflow). The
reports, their amendments and the escalation of critical values are in `.reports`. The alliance
office reads orders but does not act on them.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.choices import Role
from alliance.models import Department, Patient
from core import numbering
from core.access import profile_of
from core.errors import ActionNotAllowed, IllegalTransition
from referrals.choices import Status as ReferralStatus
from referrals.models import Referral

from .. import selectors, tasks
from ..choices import (
    DIAGNOSTIC_KINDS,
    ORDER_PREFIX,
    CenterKind,
    OrderAction,
    OrderStatus,
    Priority,
    RejectionReason,
)
from ..models import (
    ExamOrder,
    ExamOrderItem,
    ImagingSlot,
    OrderCounter,
    OrderEvent,
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


def run_step(
    actor,
    order: ExamOrder,
    action: str,
    *,
    note: str = "",
    event_data: dict | None = None,
    at: datetime.datetime | None = None,
    checked: bool = False,
    effects=(),
    **changes,
) -> tuple[ExamOrder, OrderEvent]:
    """Lock, check, apply, record, queue the effects (core.workflow); a caller that had to lock
    and check first (to validate against the locked row) passes it with `checked=True`."""
    return ORDERS.run(
        actor,
        order,
        action,
        changes=changes,
        note=note,
        data=event_data,
        at=at or timezone.now(),
        checked=checked,
        effects=effects,
    )


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
        visible = Referral.objects.visible_to(profile).filter(pk=referral.pk).exists()
        if not visible or referral.patient_id != patient.pk:
            errors["referral"] = _("The referral is not one of this patient's that you can see.")
    if errors:
        raise ValidationError(errors)
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
    order, _event = run_step(
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
    locked = lock_order(order)
    ORDERS.check(
        actor, locked, OrderAction.SCHEDULE
    )  # before the slot: no peeking at other bookings
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
    order, _event = run_step(
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
    order, _event = run_step(
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
    order, _event = run_step(
        actor,
        order,
        OrderAction.REJECT,
        note=note,
        at=at,
        effects=[(tasks.notify_orderer,)],
        rejection_reason=reason,
        status_note=note,
        received_at=None,
        due_at=None,
        event_data={"reason": reason},
    )
    return order


@transaction.atomic
def order_start(*, actor, order: ExamOrder, note: str = "", at=None) -> ExamOrder:
    at = at or timezone.now()
    order, _event = run_step(actor, order, OrderAction.START, note=note, at=at, started_at=at)
    return order


@transaction.atomic
def order_acknowledge(*, actor, order: ExamOrder, note: str = "", at=None) -> ExamOrder:
    """The orderer has read the report (and, for a critical value, acted on it)."""
    at = at or timezone.now()
    order, _event = run_step(
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
    order, _event = run_step(
        actor, order, OrderAction.CANCEL, note=reason, at=at, cancelled_at=at, status_note=reason
    )
    return order
