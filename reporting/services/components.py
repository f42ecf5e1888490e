"""The additive components of the indicators, summed in SQL per institution and month: bed-days,
capacity, visits and costs, referrals and shared-center work, imported referral counts."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, ExtractMonth, Greatest, Least
from django.utils import timezone

from referrals.choices import Direction
from referrals.choices import Status as ReferralStatus
from referrals.models import Referral
from sharedcenters.choices import CenterKind, IndicatorResult, OrderStatus
from sharedcenters.models import ExamOrder, SterilizationCycle

from ..choices import ReferralDirection
from ..expressions import DaysBetween, SecondsBetween
from ..indicators import ZERO, Components
from ..models import BedCapacity, InpatientStay, OutpatientVisit, ReferralCount
from .periods import DAY, MonthKey, aware, month_bounds


def _add(target: dict, rows: Iterable[dict], names: Iterable[str], month: str = "month") -> None:
    for row in rows:
        components = target[(row["institution"], row[month])]
        for name in names:
            if row[name]:
                components[name] = components.get(name, ZERO) + Decimal(row[name])


def _census(year: int, cutoff: datetime.date, institutions) -> dict[MonthKey, Components]:
    """Occupied bed-days (24:00 census) per month: days d with admission ≤ d < discharge.

    A stay still open counts up to `cutoff` (the end of the period or today); a same-day stay
    counts one day. One pass over the year's stays, one conditional sum per month.
    """
    start, end = datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1)
    stop = Least(Coalesce("discharge_date", Value(cutoff + DAY)), Value(cutoff + DAY))
    sums = {}
    for month in range(1, 13):
        first, after = month_bounds(year, month)
        if first > cutoff:
            break
        nights = Greatest(
            DaysBetween(Least(stop, Value(after)), Greatest("admit_date", Value(first))),
            Value(0),
        )
        same_day = Case(
            When(
                Q(discharge_date=F("admit_date"), admit_date__gte=first, admit_date__lt=after),
                then=Value(1),
            ),
            default=Value(0),
            output_field=IntegerField(),
        )
        sums[f"m{month}"] = Sum(nights + same_day)
    stays = InpatientStay.objects.filter(
        Q(discharge_date__isnull=True) | Q(discharge_date__gte=start),
        admit_date__lt=min(end, cutoff + DAY),
        institution__in=institutions,
    )
    result: dict[MonthKey, Components] = defaultdict(dict)
    for row in stays.values("institution").annotate(**sums).order_by():
        for name, value in row.items():
            if name.startswith("m") and value:
                result[(row["institution"], int(name[1:]))]["occupied_bed_days"] = Decimal(value)
    return result


def _capacity(year: int, cutoff: datetime.date, institutions) -> dict[MonthKey, Components]:
    """Open bed-days per month (beds open each day, from the latest record on or before it),
    and the beds open on the month's last counted day."""
    following = BedCapacity.objects.filter(
        institution=OuterRef("institution"), effective_from__gt=OuterRef("effective_from")
    ).order_by("effective_from")
    rows = BedCapacity.objects.filter(institution__in=institutions).annotate(
        until=Coalesce(Subquery(following.values("effective_from")[:1]), Value(cutoff + DAY))
    )
    sums = {}
    for month in range(1, 13):
        first, after = month_bounds(year, month)
        if first > cutoff:
            break
        after = min(after, cutoff + DAY)
        last = after - DAY
        days = Greatest(
            DaysBetween(Least("until", Value(after)), Greatest("effective_from", Value(first))),
            Value(0),
        )
        sums[f"d{month}"] = Sum(days * F("open_beds"))
        sums[f"b{month}"] = Sum(
            Case(
                When(effective_from__lte=last, until__gt=last, then=F("open_beds")),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
    rows = rows.filter(effective_from__lt=min(datetime.date(year + 1, 1, 1), cutoff + DAY))
    result: dict[MonthKey, Components] = defaultdict(dict)
    for row in rows.values("institution").annotate(**sums).order_by():
        for name, value in row.items():
            if name[0] in "db" and name[1:].isdigit():
                key = "open_bed_days" if name[0] == "d" else "beds_at_end"
                result[(row["institution"], int(name[1:]))][key] = Decimal(value or 0)
    return result


def _facts(year: int, cutoff: datetime.date, institutions, result) -> None:
    discharged = (
        InpatientStay.objects.filter(
            institution__in=institutions, discharge_date__year=year, discharge_date__lte=cutoff
        )
        .values("institution", month=ExtractMonth("discharge_date"))
        .annotate(
            discharges=Count("pk"),
            discharged_bed_days=Sum(
                Greatest(DaysBetween("discharge_date", "admit_date"), Value(1))
            ),
            inpatient_cost=Sum("total_cost"),
        )
        .order_by()
    )
    _add(result, discharged, ("discharges", "discharged_bed_days", "inpatient_cost"))
    visits = (
        OutpatientVisit.objects.filter(
            institution__in=institutions, visit_date__year=year, visit_date__lte=cutoff
        )
        .values("institution", month=ExtractMonth("visit_date"))
        .annotate(visits=Sum("visit_count"), outpatient_cost=Sum("total_cost"))
        .order_by()
    )
    _add(result, visits, ("visits", "outpatient_cost"))


def _activity(year: int, cutoff: datetime.date, institutions, result) -> None:
    """Referrals and shared-center work on the platform itself."""
    start, end = (
        aware(datetime.date(year, 1, 1)),
        aware(min(datetime.date(year + 1, 1, 1), cutoff + DAY)),
    )
    # An internal transfer (a station and its own centre) is no referral of the alliance: not
    # up, not down, and no platform referral that would set an institution's imported counts
    # aside; nor does it weigh on the receiver's response time or rejection rate.
    counted = Referral.objects.exclude(
        status__in=[ReferralStatus.DRAFT, ReferralStatus.CANCELLED]
    ).exclude(direction=Direction.INTERNAL)
    sent = (
        counted.filter(
            from_institution__in=institutions, submitted_at__gte=start, submitted_at__lt=end
        )
        .values(institution=F("from_institution"), month=ExtractMonth("submitted_at"))
        .annotate(
            upward_referrals=Count("pk", filter=Q(direction=Direction.UP)),
            downward_referrals=Count("pk", filter=Q(direction=Direction.DOWN)),
            referrals_sent=Count("pk"),
        )
        .order_by()
    )
    _add(result, sent, ("upward_referrals", "downward_referrals", "referrals_sent"))
    # One pass over the referrals received: all of them, those answered, those rejected.
    answered = Q(responded_at__isnull=False)
    rejected = answered & Q(status=ReferralStatus.REJECTED)
    received = (
        counted.filter(
            to_institution__in=institutions, submitted_at__gte=start, submitted_at__lt=end
        )
        .values(institution=F("to_institution"), month=ExtractMonth("submitted_at"))
        .annotate(
            referrals_received=Count("pk"),
            referrals_answered=Count("pk", filter=answered),
            referrals_rejected=Count("pk", filter=rejected),
        )
        .order_by()
    )
    _add(result, received, ("referrals_received", "referrals_answered", "referrals_rejected"))

    orders = ExamOrder.objects.filter(ordering_institution__in=institutions)
    placed = (
        orders.filter(ordered_at__gte=start, ordered_at__lt=end)
        .exclude(status=OrderStatus.CANCELLED)
        .values(institution=F("ordering_institution"), month=ExtractMonth("ordered_at"))
        .annotate(exam_orders=Count("pk"))
        .order_by()
    )
    _add(result, placed, ("exam_orders",))
    reported = (
        orders.filter(reported_at__gte=start, reported_at__lt=end, due_at__isnull=False)
        .values(institution=F("ordering_institution"), month=ExtractMonth("reported_at"))
        .annotate(
            exams_reported=Count("pk"),
            exams_on_time=Count("pk", filter=Q(reported_at__lte=F("due_at"))),
        )
        .order_by()
    )
    _add(result, reported, ("exams_reported", "exams_on_time"))
    wait = SecondsBetween("slot__starts_at", "ordered_at") / 86400.0
    booked = (
        orders.filter(
            ordered_at__gte=start,
            ordered_at__lt=end,
            slot__isnull=False,
            center__kind=CenterKind.IMAGING,
        )
        .exclude(status=OrderStatus.CANCELLED)
        .values(institution=F("ordering_institution"), month=ExtractMonth("ordered_at"))
        .annotate(
            priority_waits=Count("pk", filter=Q(priority_channel=True)),
            priority_wait_days=Sum(wait, filter=Q(priority_channel=True)),
            ordinary_waits=Count("pk", filter=Q(priority_channel=False)),
            ordinary_wait_days=Sum(wait, filter=Q(priority_channel=False)),
        )
        .order_by()
    )
    _add(
        result,
        booked,
        ("priority_waits", "priority_wait_days", "ordinary_waits", "ordinary_wait_days"),
    )
    passed = Q(physical_result=IndicatorResult.PASSED, chemical_result=IndicatorResult.PASSED) & ~Q(
        biological_result=IndicatorResult.FAILED
    )
    tested = (
        ~Q(physical_result=IndicatorResult.PENDING)
        | ~Q(chemical_result=IndicatorResult.PENDING)
        | Q(biological_result=IndicatorResult.FAILED)
    )
    cycles = (
        SterilizationCycle.objects.filter(
            center__institution__in=institutions, started_at__gte=start, started_at__lt=end
        )
        .filter(tested)
        .values(institution=F("center__institution"), month=ExtractMonth("started_at"))
        .annotate(cycles_tested=Count("pk"), cycles_passed=Count("pk", filter=passed))
        .order_by()
    )
    _add(result, cycles, ("cycles_tested", "cycles_passed"))


def _imported_referrals(year: int, cutoff: datetime.date, institutions, result) -> None:
    """Referral counts imported for the months before the platform: used for an institution
    and month only where the platform recorded no referral sent by it, never added to one."""
    counts = (
        ReferralCount.objects.filter(
            institution__in=institutions, month__year=year, month__lte=cutoff
        )
        .values("institution", month_number=ExtractMonth("month"))
        .annotate(
            up=Sum("count", filter=Q(direction=ReferralDirection.UP)),
            down=Sum("count", filter=Q(direction=ReferralDirection.DOWN)),
        )
        .order_by()
    )
    for row in counts:
        components = result[(row["institution"], row["month_number"])]
        if components.get("referrals_sent"):
            continue  # the platform's own referrals of that month count, not the file's
        components["imported_referrals"] = Decimal((row["up"] or 0) + (row["down"] or 0))
        for name, value in (("upward_referrals", row["up"]), ("downward_referrals", row["down"])):
            if value:
                components[name] = Decimal(value)


def monthly_components(
    year: int, institution_ids: Iterable[int], today: datetime.date | None = None
) -> dict[MonthKey, Components]:
    today = today or timezone.localdate()
    cutoff = min(datetime.date(year, 12, 31), today)
    ids = list(institution_ids)
    result: dict[MonthKey, Components] = defaultdict(dict)
    for source in (_census(year, cutoff, ids), _capacity(year, cutoff, ids)):
        for key, components in source.items():
            result[key].update(components)
    _facts(year, cutoff, ids, result)
    _activity(year, cutoff, ids, result)
    _imported_referrals(year, cutoff, ids, result)
    return result
