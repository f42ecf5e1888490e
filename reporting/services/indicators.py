"""Computing the indicators: components summed in SQL, ratios of sums, values replaced per year.

Per institution and month the database sums the additive components (bed-days, discharges,
visits, costs, referral and order counts). Quarters, years and alliances are sums of those
monthly sums, so an alliance value is the ratio of its members' sums. Medians cannot be summed:
they are computed in SQL for each period and scope.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractMonth, ExtractQuarter, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.choices import Tier
from alliance.models import Alliance, Institution, Membership
from core import outbox

from ..choices import JobKind, JobStatus, PeriodKind, ReferralDirection
from ..expressions import DaysBetween, Median, SecondsBetween
from ..indicators import INDICATORS, ZERO, Components, Indicator
from ..models import (
    BedCapacity,
    IndicatorValue,
    InpatientStay,
    Job,
    OutpatientVisit,
    ReferralCount,
)

logger = logging.getLogger(__name__)
DAY = datetime.timedelta(days=1)
FIRST_YEAR = 2000  # no hospital system here exports anything older
MonthKey = tuple[int, int]  # (institution id, month 1–12)


@dataclass(frozen=True)
class Period:
    kind: str
    key: str
    start: datetime.date
    end: datetime.date  # exclusive
    months: tuple[int, ...]


def periods_of(year: int, today: datetime.date | None = None) -> list[Period]:
    """The year, its quarters and months that have begun by `today`."""
    today = today or timezone.localdate()
    periods = [
        Period(
            PeriodKind.YEAR,
            str(year),
            datetime.date(year, 1, 1),
            datetime.date(year + 1, 1, 1),
            tuple(range(1, 13)),
        )
    ]
    for quarter in range(1, 5):
        first = 3 * quarter - 2
        end = datetime.date(year + 1, 1, 1) if quarter == 4 else datetime.date(year, first + 3, 1)
        months = (first, first + 1, first + 2)
        start = datetime.date(year, first, 1)
        periods.append(Period(PeriodKind.QUARTER, f"{year}-Q{quarter}", start, end, months))
    for month in range(1, 13):
        end = datetime.date(year + 1, 1, 1) if month == 12 else datetime.date(year, month + 1, 1)
        periods.append(
            Period(
                PeriodKind.MONTH,
                f"{year}-{month:02d}",
                datetime.date(year, month, 1),
                end,
                (month,),
            )
        )
    return [p for p in periods if p.start <= today]


def parse_period(text: str) -> Period | None:
    """'2019', '2019-Q3' or '2019-07' → the period, or None when the text is none of these."""
    try:
        year = int(text[:4])
    except ValueError:
        return None
    if not 1900 < year < 2200:
        return None
    for period in periods_of(year, today=datetime.date(year, 12, 31)):
        if period.key == text.upper():
            return period
    return None


def _month_bounds(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    start = datetime.date(year, month, 1)
    return start, (
        datetime.date(year + 1, 1, 1) if month == 12 else datetime.date(year, month + 1, 1)
    )


def _aware(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# --- additive components, per institution and month --------------------------------------------


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
        first, after = _month_bounds(year, month)
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
        first, after = _month_bounds(year, month)
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
    from referrals.choices import Direction
    from referrals.choices import Status as ReferralStatus
    from referrals.models import Referral
    from sharedcenters.choices import CenterKind, IndicatorResult, OrderStatus
    from sharedcenters.models import ExamOrder, SterilizationCycle

    start, end = (
        _aware(datetime.date(year, 1, 1)),
        _aware(min(datetime.date(year + 1, 1, 1), cutoff + DAY)),
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


# --- medians, per period and scope -----------------------------------------------------------


def _median_sources(year: int, cutoff: datetime.date):
    """Each median indicator: its rows in the year, the institution field, the date and value."""
    from referrals.choices import Direction
    from referrals.choices import Status as ReferralStatus
    from referrals.models import Referral
    from sharedcenters.choices import OrderStatus
    from sharedcenters.models import ExamOrder

    start, end = (
        _aware(datetime.date(year, 1, 1)),
        _aware(min(datetime.date(year + 1, 1, 1), cutoff + DAY)),
    )
    return {
        "referral_response_median_minutes": (
            Referral.objects.filter(
                submitted_at__gte=start, submitted_at__lt=end, responded_at__isnull=False
            )
            .exclude(status__in=[ReferralStatus.DRAFT, ReferralStatus.CANCELLED])
            .exclude(direction=Direction.INTERNAL),
            "to_institution",
            "submitted_at",
            SecondsBetween("responded_at", "submitted_at") / 60.0,
        ),
        "exam_tat_median_hours": (
            ExamOrder.objects.filter(reported_at__gte=start, reported_at__lt=end).exclude(
                status=OrderStatus.CANCELLED
            ),
            "ordering_institution",
            "reported_at",
            SecondsBetween("reported_at", "ordered_at") / 3600.0,
        ),
        "critical_value_ack_median_minutes": (
            ExamOrder.objects.filter(
                critical=True,
                reported_at__gte=start,
                reported_at__lt=end,
                critical_acknowledged_at__isnull=False,
            ),
            "ordering_institution",
            "reported_at",
            SecondsBetween("critical_acknowledged_at", "reported_at") / 60.0,
        ),
    }


def _medians(
    year: int, cutoff: datetime.date, institution_ids: list[int], alliances: dict[int, set[int]]
) -> dict[tuple[str, str, int, str], tuple[Decimal, int]]:
    """(indicator, 'institution'|'alliance', scope id, period key) → (median, cases)."""
    found: dict[tuple[str, str, int, str], tuple[Decimal, int]] = {}
    groupings = [
        (lambda field: ExtractMonth(field), lambda n: f"{year}-{n:02d}"),
        (lambda field: ExtractQuarter(field), lambda n: f"{year}-Q{n}"),
        (lambda field: Value(0), lambda n: str(year)),
    ]
    for key, (rows, owner, when, value) in _median_sources(year, cutoff).items():
        scopes = [("institution", None, rows.filter(**{f"{owner}__in": institution_ids}))]
        scopes += [
            ("alliance", alliance_id, rows.filter(**{f"{owner}__in": members}))
            for alliance_id, members in alliances.items()
        ]
        for scope, scope_id, scoped in scopes:
            for part, label in groupings:
                group = {"part": part(when)}
                if scope == "institution":
                    group["owner"] = F(owner)
                for row in (
                    scoped.values(**group).annotate(m=Median(value), n=Count("pk")).order_by()
                ):
                    if row["m"] is None:
                        continue
                    found[(key, scope, row.get("owner", scope_id), label(row["part"]))] = (
                        Decimal(str(row["m"])),
                        row["n"],
                    )
    return found


# --- rolling up and storing ------------------------------------------------------------------

# Components that are a level on a day (beds, staff, population), not a flow: a period takes its
# last month's, an alliance the sum of its members'.
LEVELS = ("beds_at_end", "population", "health_workers")


def _roll_up(monthly: dict[MonthKey, Components], ids: Iterable[int], period: Period) -> Components:
    total: Components = {}
    for institution_id in ids:
        last_month = None
        for month in period.months:
            components = monthly.get((institution_id, month))
            if not components:
                continue
            for name, value in components.items():
                if name not in LEVELS:
                    total[name] = total.get(name, ZERO) + value
            last_month = components
        if last_month is not None:
            for name in LEVELS:
                if name in last_month:
                    total[name] = total.get(name, ZERO) + last_month[name]
    return total


def _value(
    indicator: Indicator, components: Components
) -> tuple[Decimal | None, Decimal, Decimal | None]:
    numerator, denominator = indicator.parts(components)
    if denominator is None:
        return numerator, numerator, None
    if not denominator:
        return None, numerator, denominator
    return numerator * indicator.factor / denominator, numerator, denominator


def _has_data(indicator: Indicator, year_components: Components) -> bool:
    if indicator.needs:
        return all(any(year_components.get(n) for n in group) for group in indicator.needs)
    numerator, denominator = indicator.parts(year_components)
    return bool(numerator) or bool(denominator)


def _q(number: Decimal | None, places: str) -> Decimal | None:
    return None if number is None else number.quantize(Decimal(places))


def _institution_levels(institutions: list[Institution], monthly, year, cutoff) -> None:
    """Register figures (population, staff) hold for every month counted; tier decides the
    primary-care split of visits and referrals."""
    primary = {i.pk for i in institutions if i.tier == Tier.PRIMARY}
    hospitals = {i.pk for i in institutions if i.tier in (Tier.SECONDARY, Tier.TERTIARY)}
    for institution in institutions:
        for month in range(1, (cutoff.month if cutoff.year == year else 12) + 1):
            components = monthly[(institution.pk, month)]
            if institution.population_served:
                components["population"] = Decimal(institution.population_served)
            if institution.health_technical_staff:
                components["health_workers"] = Decimal(institution.health_technical_staff)
            if institution.pk in primary:
                if "visits" in components:
                    components["primary_visits"] = components["visits"]
                if "upward_referrals" in components:
                    components["primary_upward_referrals"] = components["upward_referrals"]
            if institution.pk in hospitals:
                if "downward_referrals" in components:
                    components["hospital_downward_referrals"] = components["downward_referrals"]
                if "discharges" in components:
                    components["hospital_discharges"] = components["discharges"]


# A month's facts arrived from an institution when it has visits or discharges in it (not
# occupied bed-days: a stay imported open goes on filling the census of months no file covers).
SUPPLIED = ("visits", "discharges")


def _direct_members(year: int, alliance_ids: Iterable[int]) -> dict[int, set[int]]:
    """Each alliance → the institutions that are members themselves (not the stations under
    them, whose visits their centre's system records): the ones expected to send facts."""
    on = min(datetime.date(year, 12, 31), timezone.localdate())
    found: dict[int, set[int]] = defaultdict(set)
    rows = Membership.objects.active(on).filter(alliance__in=list(alliance_ids))
    for alliance_id, institution_id in rows.values_list("alliance_id", "institution_id"):
        found[alliance_id].add(institution_id)
    return found


def coverage(
    monthly: dict[MonthKey, Components],
    members: Iterable[int],
    period: Period,
    cutoff: datetime.date,
) -> tuple[int, int]:
    """(members, reporting): how many of the members supplied facts for every month of the
    period that has begun by `cutoff`."""
    months = [m for m in period.months if datetime.date(period.start.year, m, 1) <= cutoff]
    members = list(members)
    reporting = sum(
        all(any(monthly.get((pk, m), {}).get(name) for name in SUPPLIED) for m in months)
        for pk in members
    )
    return len(members), reporting


def alliance_members(
    year: int, institution_ids: Iterable[int] | None = None
) -> dict[int, set[int]]:
    """Each alliance (touching the given institutions) → its members at the year's end."""
    on = min(datetime.date(year, 12, 31), timezone.localdate())
    alliances = Alliance.objects.all()
    if institution_ids is not None:
        touching = Membership.objects.active(on).filter(institution__in=list(institution_ids))
        alliances = alliances.filter(pk__in=touching.values("alliance_id"))
    return {
        alliance.pk: set(
            Institution.objects.in_alliance(alliance.pk, on=on).values_list("pk", flat=True)
        )
        for alliance in alliances
    }


@transaction.atomic
def recompute(
    year: int,
    institution_ids: Iterable[int] | None = None,
    *,
    today: datetime.date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Replace the year's values for the institutions (default: all) and their alliances.

    Returns the number of values written. Idempotent: the same facts give the same values.
    """
    today = today or timezone.localdate()
    if datetime.date(year, 1, 1) > today:
        return 0
    cutoff = min(datetime.date(year, 12, 31), today)
    alliances = alliance_members(year, institution_ids)
    if institution_ids is None:
        targets = set(Institution.objects.values_list("pk", flat=True))
    else:
        targets = set(institution_ids)
    everyone = targets.union(*alliances.values())
    institutions = list(Institution.objects.filter(pk__in=everyone))
    periods = periods_of(year, today)
    steps, step = 4, 0

    def advance() -> None:
        nonlocal step
        step += 1
        if progress:
            progress(step, steps)

    monthly = monthly_components(year, everyone, today)
    _institution_levels(institutions, monthly, year, cutoff)
    advance()
    medians = _medians(year, cutoff, sorted(targets), alliances)
    advance()

    direct = _direct_members(year, alliances)
    covered = {
        (pk, period.key): coverage(monthly, direct.get(pk, ()), period, cutoff)
        for pk in alliances
        for period in periods
    }
    now = timezone.now()
    rows: list[IndicatorValue] = []
    scopes = [("institution", pk, (pk,)) for pk in sorted(targets)]
    scopes += [("alliance", pk, sorted(members)) for pk, members in alliances.items()]
    year_period = periods[0]
    for scope, scope_id, members in scopes:
        year_components = _roll_up(monthly, members, year_period)
        for indicator in INDICATORS.values():
            if scope == "institution" and not indicator.institution_scope:
                continue
            for period in periods:
                expected = reporting = None
                if indicator.is_median:
                    found = medians.get((indicator.key, scope, scope_id, period.key))
                    if found is None:
                        continue
                    value, numerator, denominator = found[0], None, Decimal(found[1])
                else:
                    if not _has_data(indicator, year_components):
                        break
                    components = _roll_up(monthly, members, period)
                    components["days"] = Decimal(
                        (min(period.end, cutoff + DAY) - period.start).days
                    )
                    value, numerator, denominator = _value(indicator, components)
                    if scope == "alliance" and indicator.uses_facts:
                        expected, reporting = covered[(scope_id, period.key)]
                rows.append(
                    IndicatorValue(
                        indicator=indicator.key,
                        period=period.key,
                        period_kind=period.kind,
                        period_start=period.start,
                        value=_q(value, "0.000001"),
                        numerator=_q(numerator, "0.0001"),
                        denominator=_q(denominator, "0.0001"),
                        computed_at=now,
                        members=expected,
                        reporting=reporting,
                        institution_id=scope_id if scope == "institution" else None,
                        alliance_id=scope_id if scope == "alliance" else None,
                    )
                )
    advance()
    keys = [p.key for p in periods]
    IndicatorValue.objects.filter(period__in=keys).filter(
        Q(institution__in=targets) | Q(alliance__in=list(alliances))
    ).delete()
    IndicatorValue.objects.bulk_create(rows, batch_size=5000)
    advance()
    logger.info("recomputed %s: %d values", year, len(rows))
    return len(rows)


def recompute_job(
    *, year: int, institution_ids: list[int] | None = None, job_id: int | None = None
) -> int:
    """Recompute as a job an operator can watch: progress while running, the error if it fails."""
    from .jobs import job_claim

    job = Job.objects.filter(pk=job_id).first() if job_id else None

    def progress(done: int, total: int) -> None:
        if job is not None:
            Job.objects.filter(pk=job.pk).update(
                progress_done=done, progress_total=total, heartbeat_at=timezone.now()
            )

    if job is not None and not job_claim(job):
        return 0
    try:
        written = recompute(year, institution_ids, progress=progress)
    except Exception as exc:
        if job is not None:
            Job.objects.filter(pk=job.pk).update(
                status=JobStatus.FAILED,
                finished_at=timezone.now(),
                errors=[{"row": None, "column": "", "message": str(exc)}],
            )
        raise
    if job is not None:
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.DONE, finished_at=timezone.now(), result={"values": written}
        )
    return written


def recompute_current(today: datetime.date | None = None) -> None:
    """The nightly job: this year, and last year too in January while late files arrive."""
    today = today or timezone.localdate()
    recompute(today.year, today=today)
    if today.month == 1:
        recompute(today.year - 1, today=today)


def years_with_facts() -> list[int]:
    years = set()
    for model, field in (
        (OutpatientVisit, "visit_date"),
        (InpatientStay, "admit_date"),
        (BedCapacity, "effective_from"),
        (ReferralCount, "month"),
    ):
        years.update(d.year for d in model.objects.dates(field, "year"))
    return sorted(years)


@transaction.atomic
def recompute_job_create(*, actor, year: int, institution: Institution | None = None) -> Job:
    """An operator's recomputation of a year (for one institution and its alliances, or all):
    a job queued after commit, whose progress and errors the recompute page shows."""
    from core.errors import ActionNotAllowed

    from .. import tasks
    from ..rules import imports_facts

    if not imports_facts(actor):
        raise ActionNotAllowed(_("Only the alliance office recomputes indicators."))
    this_year = timezone.localdate().year
    if not FIRST_YEAR <= year <= this_year:
        raise ValidationError(
            {
                "year": _("Choose a year from %(first)d to %(last)d.")
                % {"first": FIRST_YEAR, "last": this_year}
            }
        )
    job = Job.objects.create(
        kind=JobKind.RECOMPUTE, year=year, institution=institution, requested_by=actor
    )
    ids = [institution.pk] if institution is not None else None
    outbox.enqueue(tasks.recompute_indicators, year, ids, job.pk)
    return job
