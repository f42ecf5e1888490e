"""Diagnostic orders: imaging slots, the exam order, its items, its event timeline and its
numbering."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alliance.models import Department, Institution, Patient
from core.history import tracked
from core.numbering import Counter

from ..choices import (
    OPEN_ORDER_STATUSES,
    Modality,
    OrderAction,
    OrderStatus,
    Priority,
    RejectionReason,
)
from ..querysets import ExamOrderQuerySet, ImagingSlotQuerySet
from .centers import ServiceItem, SharedCenter


class ImagingSlot(models.Model):
    """A bookable time on one modality of an imaging (or ECG) center."""

    center = models.ForeignKey(
        SharedCenter, verbose_name=_("center"), on_delete=models.CASCADE, related_name="slots"
    )
    modality = models.CharField(_("modality"), max_length=20, choices=Modality.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveSmallIntegerField(_("capacity"), validators=[MinValueValidator(1)])
    priority_reserved = models.PositiveSmallIntegerField(
        _("reserved for the green channel"),
        default=0,
        help_text=_("Places only alliance-priority patients may book."),
    )

    objects = ImagingSlotQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "modality"]
        verbose_name = _("imaging slot")
        verbose_name_plural = _("imaging slots")
        constraints = [
            models.UniqueConstraint(
                fields=["center", "modality", "starts_at"], name="slot_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(priority_reserved__lte=models.F("capacity")),
                name="slot_reserve_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="slot_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["center", "modality", "starts_at"], name="slot_lookup")]

    def __str__(self) -> str:
        local = timezone.localtime(self.starts_at)
        return f"{self.get_modality_display()} {local:%Y-%m-%d %H:%M}"

    @property
    def ordinary_capacity(self) -> int:
        return self.capacity - self.priority_reserved


@tracked("ExamOrderHistory")
class ExamOrder(models.Model):
    """A lab, imaging or ECG order from a member institution to a shared center."""

    number = models.CharField(_("order number"), max_length=20, unique=True)
    center = models.ForeignKey(
        SharedCenter, verbose_name=_("center"), on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.ORDERED
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.ROUTINE
    )
    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="exam_orders"
    )
    ordering_institution = models.ForeignKey(
        Institution,
        verbose_name=_("ordering institution"),
        on_delete=models.PROTECT,
        related_name="exam_orders",
    )
    ordering_department = models.ForeignKey(
        Department,
        verbose_name=_("ordering department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exam_orders",
    )
    ordering_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ordering doctor"),
        on_delete=models.PROTECT,
        related_name="exam_orders",
    )
    clinical_info = models.TextField(_("clinical information"), blank=True)
    referral = models.ForeignKey(
        "referrals.Referral",
        verbose_name=_("referral"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exam_orders",
    )
    priority_channel = models.BooleanField(
        _("alliance green channel"),
        default=False,
        help_text=_("A family-doctor-signed resident or a referred patient when ordered."),
    )
    slot = models.ForeignKey(
        ImagingSlot,
        verbose_name=_("appointment slot"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
    )
    target_hours = models.DecimalField(
        _("target turnaround (hours)"),
        max_digits=6,
        decimal_places=2,
        help_text=_("The slowest item's target for the order's priority, from receipt."),
    )

    ordered_at = models.DateTimeField(_("ordered at"), default=timezone.now)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    due_at = models.DateTimeField(_("report due"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    rejection_reason = models.CharField(
        _("rejection reason"), max_length=24, choices=RejectionReason.choices, blank=True
    )
    status_note = models.TextField(_("last reason or note"), blank=True)

    findings = models.TextField(_("findings"), blank=True)
    impression = models.TextField(_("impression"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporting doctor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exam_reports",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewing doctor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exam_reviews",
    )
    critical = models.BooleanField(_("critical value"), default=False)
    critical_note = models.TextField(_("critical value details"), blank=True)
    critical_acknowledged_at = models.DateTimeField(
        _("critical value acknowledged at"), null=True, blank=True
    )
    critical_acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("critical value acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="critical_values_acknowledged",
    )
    critical_escalated_at = models.DateTimeField(
        _("critical value escalated at"), null=True, blank=True
    )

    objects = ExamOrderQuerySet.as_manager()

    class Meta:
        ordering = ["-ordered_at", "-pk"]
        verbose_name = _("exam order")
        verbose_name_plural = _("exam orders")
        indexes = [
            models.Index(
                fields=["center", "status", "-priority", "ordered_at"], name="order_worklist"
            ),
            # The center's worklist: open orders are a few percent of all, urgent first, then
            # the oldest; a partial index keeps the page a short index walk at any table size.
            models.Index(
                fields=["center", "-priority", "ordered_at", "id"],
                condition=Q(status__in=sorted(OPEN_ORDER_STATUSES)),
                name="order_open_queue",
            ),
            models.Index(
                fields=["center", "status"],
                condition=Q(status__in=sorted(OPEN_ORDER_STATUSES)),
                name="order_open_by_status",
            ),
            models.Index(fields=["ordering_institution", "-ordered_at"], name="order_outbox"),
            models.Index(fields=["patient", "-ordered_at"], name="order_patient"),
            models.Index(fields=["center", "-ordered_at", "-id"], name="order_center_newest"),
            # A member's order list, newest first, across centers: read down until a page of
            # visible orders is found (sharedcenters.querysets.ExamOrderQuerySet.visible_to).
            models.Index(fields=["-ordered_at", "-id"], name="order_newest"),
            models.Index(
                fields=["reported_at"],
                condition=Q(critical=True, critical_acknowledged_at__isnull=True),
                name="order_critical_open",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ORDER_STATUSES

    # Turnaround is measured between the timestamps the transitions write (one per event).
    @property
    def tat_hours(self) -> Decimal | None:
        """Ordered → reported."""
        return _hours(self.ordered_at, self.reported_at)

    @property
    def lab_tat_hours(self) -> Decimal | None:
        """Received at the center → reported: the part the center answers for."""
        return _hours(self.received_at, self.reported_at)

    @property
    def on_time(self) -> bool | None:
        if self.reported_at is None or self.due_at is None:
            return None
        return self.reported_at <= self.due_at

    @property
    def critical_ack_minutes(self) -> int | None:
        if not self.critical or self.reported_at is None or not self.critical_acknowledged_at:
            return None
        return int((self.critical_acknowledged_at - self.reported_at).total_seconds() // 60)


def _hours(start: datetime.datetime | None, end: datetime.datetime | None) -> Decimal | None:
    if start is None or end is None:
        return None
    return (Decimal((end - start).total_seconds()) / 3600).quantize(Decimal("0.1"))


class ExamOrderItem(models.Model):
    """One catalog item of an order, priced as it was when ordered."""

    order = models.ForeignKey(
        ExamOrder, verbose_name=_("order"), on_delete=models.CASCADE, related_name="items"
    )
    item = models.ForeignKey(
        ServiceItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    price = models.DecimalField(_("price (yuan)"), max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("ordered item")
        verbose_name_plural = _("ordered items")
        constraints = [
            models.UniqueConstraint(fields=["order", "item"], name="order_item_once"),
        ]

    def __str__(self) -> str:
        return str(self.item)


class OrderEvent(models.Model):
    """One step of an order: who did what, from which state to which, when, and why."""

    order = models.ForeignKey(
        ExamOrder, verbose_name=_("order"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=16, choices=OrderAction.choices)
    from_status = models.CharField(
        _("from"), max_length=16, choices=OrderStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=16, choices=OrderStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_events",
        help_text=_("Empty for the platform's own jobs (escalation)."),
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        indexes = [models.Index(fields=["order", "at"], name="order_event_timeline")]

    def __str__(self) -> str:
        return f"{self.order} {self.action} {self.from_status}→{self.to_status}"


class OrderCounter(Counter):
    """Last order number issued per prefix and day: gap-free and never reused."""

    prefix = models.CharField(max_length=4)
    day = models.DateField()

    class Meta:
        verbose_name = _("order number counter")
        verbose_name_plural = _("order number counters")
        constraints = [
            models.UniqueConstraint(fields=["prefix", "day"], name="order_counter_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.prefix} {self.day}: {self.last}"
