"""Service figures of the shared centers over a period: volume by member, turnaround, on-time
rate, specimen rejections, critical values and imaging waits for the green channel.

Counts, rates and averages are aggregated in the database. Medians are not portable SQL
(PostgreSQL has percentile_cont, SQLite has nothing), so they are taken in Python over the
durations the database computes, one column per order of one center and one period: bounded by
the period, never the whole table.

Every figure is about the orders *placed* in the period (ordered_at in [start, end)), so a
late report still counts against the month its order was placed in. A rate or a median with
nothing to measure is None (shown "—"), never 0.
"""

from __future__ import annotations

import datetime
import statistics
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.fields.json import KT
from django.utils import timezone

from .choices import Modality, OrderAction, OrderStatus, RejectionReason
from .models import ExamOrder, OrderEvent, SharedCenter

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def period_bounds(date_from: datetime.date, date_to: datetime.date):
    """Aware local-midnight bounds of whole days: [date_from 00:00, date_to + 1 day 00:00)."""
    start = timezone.make_aware(datetime.datetime.combine(date_from, datetime.time.min))
    end = timezone.make_aware(datetime.datetime.combine(date_to + DAY, datetime.time.min))
    return start, end


def default_period(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The last 30 days, today included."""
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=29), today


def rate(part: int, whole: int) -> Decimal | None:
    """A percentage to one decimal; None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def median(values: list[datetime.timedelta], unit: datetime.timedelta) -> Decimal | None:
    if not values:
        return None
    return (Decimal(statistics.median(values) / unit)).quantize(Decimal("0.1"))


def in_units(value: datetime.timedelta | None, unit: datetime.timedelta) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value / unit)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class InstitutionVolume:
    institution_id: int
    name: str
    orders: int
    reported: int


@dataclass(frozen=True)
class ModalityWait:
    """Order → appointment (slot start), in days: the green channel against ordinary patients."""

    modality: str
    label: str
    green_days: Decimal | None
    green_orders: int
    ordinary_days: Decimal | None
    ordinary_orders: int


@dataclass
class CenterFigures:
    center: SharedCenter
    orders: int = 0
    reported: int = 0
    by_institution: list[InstitutionVolume] = field(default_factory=list)
    median_tat_hours: Decimal | None = None  # ordered → reported
    median_lab_tat_hours: Decimal | None = None  # received → reported
    on_time: int = 0
    with_target: int = 0  # reported orders that had a due time
    rejections: list[tuple[str, int]] = field(default_factory=list)  # (reason label, count)
    critical: int = 0
    critical_acknowledged: int = 0
    median_ack_minutes: Decimal | None = None
    waits: list[ModalityWait] = field(default_factory=list)

    @property
    def on_time_rate(self) -> Decimal | None:
        return rate(self.on_time, self.with_target)

    @property
    def rejections_total(self) -> int:
        return sum(n for _label, n in self.rejections)

    @property
    def rejection_rate(self) -> Decimal | None:
        """Rejections per 100 orders placed (a specimen may be rejected more than once)."""
        return rate(self.rejections_total, self.orders)


def center_figures(
    center: SharedCenter,
    date_from: datetime.date,
    date_to: datetime.date,
    orders: QuerySet[ExamOrder] | None = None,
) -> CenterFigures:
    """Figures of one center; `orders` narrows the base rows (a page passes the user's)."""
    start, end = period_bounds(date_from, date_to)
    base = orders if orders is not None else ExamOrder.objects.all()
    placed = (
        base.filter(center=center, ordered_at__gte=start, ordered_at__lt=end)
        .exclude(status=OrderStatus.CANCELLED)
        .order_by()
    )
    figures = CenterFigures(center=center)
    reported = Q(reported_at__isnull=False)
    # Aliases must not shadow the fields the filters name (`critical`), hence the prefix.
    totals = placed.aggregate(
        n_orders=Count("pk"),
        n_reported=Count("pk", filter=reported),
        n_with_target=Count("pk", filter=reported & Q(due_at__isnull=False)),
        n_on_time=Count("pk", filter=reported & Q(reported_at__lte=F("due_at"))),
        n_critical=Count("pk", filter=Q(critical=True)),
        n_critical_acknowledged=Count(
            "pk", filter=Q(critical=True, critical_acknowledged_at__isnull=False)
        ),
    )
    for name, value in totals.items():
        setattr(figures, name.removeprefix("n_"), value)
    if not figures.orders:
        return figures

    figures.by_institution = [
        InstitutionVolume(row["ordering_institution_id"], row["name"], row["n"], row["done"])
        for row in placed.values("ordering_institution_id")
        .annotate(
            name=F("ordering_institution__name"), n=Count("pk"), done=Count("pk", filter=reported)
        )
        .order_by("-n", "name")
    ]

    tat, lab_tat = [], []
    for whole, lab in placed.filter(reported).values_list(
        duration("reported_at", "ordered_at"), duration("reported_at", "received_at")
    ):
        tat.append(whole)
        if lab is not None:
            lab_tat.append(lab)
    figures.median_tat_hours = median(tat, HOUR)
    figures.median_lab_tat_hours = median(lab_tat, HOUR)

    acks = placed.filter(critical=True, critical_acknowledged_at__isnull=False).values_list(
        duration("critical_acknowledged_at", "reported_at"), flat=True
    )
    figures.median_ack_minutes = median(list(acks), datetime.timedelta(minutes=1))

    # From the events: collecting again clears the order's own rejection reason.
    reasons = dict(RejectionReason.choices)
    figures.rejections = [
        (str(reasons.get(row["reason"], row["reason"] or "—")), row["n"])
        for row in OrderEvent.objects.filter(
            order__in=placed.values("pk"), action=OrderAction.REJECT
        )
        .values(reason=KT("data__reason"))
        .annotate(n=Count("pk"))
        .order_by("-n", "reason")
    ]

    figures.waits = modality_waits(placed)
    return figures


def modality_waits(placed: QuerySet[ExamOrder]) -> list[ModalityWait]:
    """Average order → slot start per modality, green channel against ordinary patients."""
    rows = (
        placed.filter(slot__isnull=False)
        .values("slot__modality", "priority_channel")
        .annotate(n=Count("pk"), wait=Avg(duration("slot__starts_at", "ordered_at")))
        .order_by("slot__modality")
    )
    by_modality: dict[str, dict[bool, tuple[int, datetime.timedelta | None]]] = {}
    for row in rows:
        wait = row["wait"]
        if wait is not None and not isinstance(wait, datetime.timedelta):
            wait = datetime.timedelta(microseconds=float(wait))  # SQLite averages microseconds
        by_modality.setdefault(row["slot__modality"], {})[row["priority_channel"]] = (
            row["n"],
            wait,
        )
    labels = dict(Modality.choices)
    waits = []
    for modality, groups in by_modality.items():
        green_n, green_wait = groups.get(True, (0, None))
        ordinary_n, ordinary_wait = groups.get(False, (0, None))
        waits.append(
            ModalityWait(
                modality=modality,
                label=str(labels.get(modality, modality)),
                green_days=in_units(green_wait, DAY),
                green_orders=green_n,
                ordinary_days=in_units(ordinary_wait, DAY),
                ordinary_orders=ordinary_n,
            )
        )
    return waits


def dashboard(
    centers: QuerySet[SharedCenter],
    date_from: datetime.date,
    date_to: datetime.date,
    orders: QuerySet[ExamOrder] | None = None,
) -> list[CenterFigures]:
    return [center_figures(center, date_from, date_to, orders) for center in centers]
