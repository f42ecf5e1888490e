"""The cockpit (驾驶舱) of the health bureau and the alliance office: this month against the
previous one, the capacity per 1,000 against the benchmarks, an alert wall and the members
ranked by referral volume, for the user's reach (`reach_of`: the bureau's district, the office's
alliances). Aggregates only: no figure here names or counts a patient by id.

Each figure is one query whatever the number of institutions; the institutions of the reach are
a subquery of each, never a list read first.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Case, Count, Q, QuerySet, When
from django.utils import timezone

from alliance.choices import KIND_TIER
from alliance.models import Institution, Membership
from alliance.selectors import capacity_of
from core.access import profile_of
from referrals.choices import Direction
from referrals.choices import Status as ReferralStatus
from referrals.models import Referral
from sharedcenters.choices import OrderStatus
from sharedcenters.models import ExamOrder

from ..expressions import Median, SecondsBetween
from ..querysets import ALL, ALLIANCE, DISTRICT, reach_of
from .figures import BENCHMARKS
from .home import failed_jobs, members_without_data

RANKING_SIZE = 10
COCKPIT_REACHES = (ALL, ALLIANCE, DISTRICT)


@dataclass(frozen=True)
class Months:
    """This month (to today) and the previous one, as aware datetimes at local midnight."""

    today: datetime.date
    previous_start: datetime.datetime
    current_start: datetime.datetime
    next_start: datetime.datetime

    @classmethod
    def of(cls, today: datetime.date) -> Months:
        first = today.replace(day=1)
        previous = (first - datetime.timedelta(days=1)).replace(day=1)
        following = (first + datetime.timedelta(days=32)).replace(day=1)

        def midnight(day: datetime.date) -> datetime.datetime:
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))

        return cls(today, midnight(previous), midnight(first), midnight(following))

    @property
    def current(self) -> str:
        return self.current_start.strftime("%Y-%m")

    @property
    def previous(self) -> str:
        return self.previous_start.strftime("%Y-%m")


@dataclass
class Tile:
    key: str
    current: Decimal | int | None
    previous: Decimal | int | None = None
    benchmarks: list[dict] = field(default_factory=list)
    coverage: dict | None = None

    @property
    def trend(self) -> str | None:
        """ "up", "down" or "flat" against the previous month; None without both figures."""
        if self.current is None or self.previous is None:
            return None
        if self.current == self.previous:
            return "flat"
        return "up" if self.current > self.previous else "down"


def _one_decimal(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _percent(part: int, whole: int) -> Decimal | None:
    return _one_decimal(Decimal(part) * 100 / whole) if whole else None


def cockpit_institutions(user) -> QuerySet[Institution] | None:
    """The institutions of the user's reach (a lazy queryset), None for a user with no cockpit."""
    reach = reach_of(user)
    if reach not in COCKPIT_REACHES:
        return None
    if reach == ALL:
        return Institution.objects.all()
    own = profile_of(user).institution_id
    if reach == ALLIANCE:
        return Institution.objects.in_alliances_of(own)
    district = Institution.objects.filter(pk=own).values("district_id")
    return Institution.objects.filter(district_id__in=district)


def cockpit_members(user, today: datetime.date):
    """The memberships expected to send facts: the office's alliances' direct members, the
    members in the bureau's district."""
    memberships = Membership.objects.active(today)
    reach = reach_of(user)
    own = profile_of(user).institution_id if reach != ALL else None
    if reach == ALLIANCE:
        mine = Membership.objects.active(today).filter(institution_id=own)
        return memberships.filter(alliance_id__in=mine.values("alliance_id"))
    if reach == DISTRICT:
        district = Institution.objects.filter(pk=own).values("district_id")
        return memberships.filter(institution__district_id__in=district)
    return memberships


def _touching(institutions: QuerySet[Institution]) -> Q:
    return Q(from_institution__in=institutions.values("pk")) | Q(
        to_institution__in=institutions.values("pk")
    )


def referral_tiles(institutions: QuerySet[Institution], months: Months) -> list[Tile]:
    """Referrals sent or received by the reach (internal transfers left out), submitted this
    month and the previous one, and the share of them completed; one query."""
    now = Q(submitted_at__gte=months.current_start)
    done = Q(status=ReferralStatus.COMPLETED)
    counts = (
        Referral.objects.counted()
        .exclude(direction=Direction.INTERNAL)
        .filter(
            _touching(institutions),
            submitted_at__gte=months.previous_start,
            submitted_at__lt=months.next_start,
        )
        .aggregate(
            current=Count("pk", filter=now),
            previous=Count("pk", filter=~now),
            current_done=Count("pk", filter=now & done),
            previous_done=Count("pk", filter=~now & done),
        )
    )
    return [
        Tile("referrals", counts["current"], counts["previous"]),
        Tile(
            "referral_completion_rate",
            _percent(counts["current_done"], counts["current"]),
            _percent(counts["previous_done"], counts["previous"]),
        ),
    ]


def order_tiles(institutions: QuerySet[Institution], months: Months) -> list[Tile]:
    """Shared-center orders placed by the reach or at its centers this month and the previous
    one (cancelled ones left out), their median turnaround (ordered → reported, hours) and the
    green-channel bookings; one query."""
    now = Q(ordered_at__gte=months.current_start)
    green = Q(priority_channel=True)
    turnaround = SecondsBetween("reported_at", "ordered_at")

    def median_of(period: Q) -> Median:
        reported = period & Q(reported_at__isnull=False)
        return Median(Case(When(reported, then=turnaround), default=None))

    ids = institutions.values("pk")
    figures = (
        ExamOrder.objects.exclude(status=OrderStatus.CANCELLED)
        .filter(
            Q(ordering_institution__in=ids) | Q(center__institution__in=ids),
            ordered_at__gte=months.previous_start,
            ordered_at__lt=months.next_start,
        )
        .aggregate(
            current=Count("pk", filter=now),
            previous=Count("pk", filter=~now),
            current_green=Count("pk", filter=now & green),
            previous_green=Count("pk", filter=~now & green),
            current_tat=median_of(now),
            previous_tat=median_of(~now),
        )
    )

    def hours(seconds) -> Decimal | None:
        return None if seconds is None else _one_decimal(seconds / 3600)

    return [
        Tile("center_orders", figures["current"], figures["previous"]),
        Tile(
            "center_median_turnaround_hours",
            hours(figures["current_tat"]),
            hours(figures["previous_tat"]),
        ),
        Tile("green_channel_bookings", figures["current_green"], figures["previous_green"]),
    ]


def capacity_tiles(institutions: QuerySet[Institution]) -> list[Tile]:
    """Beds and health workers per 1,000 of the reach's active care institutions against the
    paper's benchmarks, with how many institutions they cover; one query."""
    capacity = capacity_of(institutions.filter(is_active=True, kind__in=list(KIND_TIER)))
    coverage = {"institutions": capacity.institutions, "population": capacity.population}

    def benchmarks(key: str) -> list[dict]:
        return [{"label": str(label), "value": value} for label, value in BENCHMARKS[key]]

    return [
        Tile("beds_per_1000", capacity.beds_per_1000, None, benchmarks("beds_per_1000"), coverage),
        Tile(
            "health_workers_per_1000",
            capacity.health_staff_per_1000,
            None,
            benchmarks("health_workers_per_1000"),
            coverage,
        ),
    ]


def overdue_referrals(institutions: QuerySet[Institution]) -> int:
    """Referrals to or from the reach unanswered past their deadline, one query."""
    return Referral.objects.filter(
        _touching(institutions), status=ReferralStatus.SUBMITTED, due_at__lt=timezone.now()
    ).count()


def critical_unacknowledged(institutions: QuerySet[Institution]) -> int:
    """Critical values of the reach's orders unacknowledged longer than
    settings.CRITICAL_VALUE_ACK_MINUTES, one query."""
    since = timezone.now() - datetime.timedelta(minutes=settings.CRITICAL_VALUE_ACK_MINUTES)
    ids = institutions.values("pk")
    return ExamOrder.objects.filter(
        Q(ordering_institution__in=ids) | Q(center__institution__in=ids),
        critical=True,
        critical_acknowledged_at__isnull=True,
        reported_at__lte=since,
    ).count()


def referral_ranking(institutions: QuerySet[Institution], months: Months) -> list[dict]:
    """The reach's institutions with the most referrals sent plus received this month, the
    top RANKING_SIZE; one query. The month's referrals touching the reach are grouped by their
    pair of institutions (a few hundred rows), then summed per institution here: a count per
    institution as a correlated subquery took 1.7 s over the bench's 200,000 referrals."""
    reach = institutions.values("pk")
    pairs = (
        Referral.objects.counted()
        .filter(submitted_at__gte=months.current_start, submitted_at__lt=months.next_start)
        .filter(Q(from_institution__in=reach) | Q(to_institution__in=reach))
        .order_by()
        .values(
            "from_institution",
            "from_institution__name",
            "from_institution__kind",
            "to_institution",
            "to_institution__name",
            "to_institution__kind",
        )
        .annotate(
            n=Count("pk"),
            from_in=Case(When(from_institution__in=reach, then=True), default=False),
            to_in=Case(When(to_institution__in=reach, then=True), default=False),
        )
    )
    totals: dict[int, dict] = {}

    def add(pk: int, name: str, kind: str, side: str, n: int) -> None:
        row = totals.setdefault(
            pk,
            {
                "institution_id": pk,
                "name": name,
                "tier": KIND_TIER.get(kind),
                "sent": 0,
                "received": 0,
                "total": 0,
            },
        )
        row[side] += n
        row["total"] += n

    for pair in pairs:
        if pair["from_in"]:
            add(
                pair["from_institution"],
                pair["from_institution__name"],
                pair["from_institution__kind"],
                "sent",
                pair["n"],
            )
        if pair["to_in"]:
            add(
                pair["to_institution"],
                pair["to_institution__name"],
                pair["to_institution__kind"],
                "received",
                pair["n"],
            )
    ranked = sorted(totals.values(), key=lambda row: (-row["total"], row["name"]))
    return ranked[:RANKING_SIZE]


@dataclass
class Cockpit:
    months: Months
    reach: str
    tiles: list[Tile]
    alerts: dict[str, int]
    ranking: list[dict]


def cockpit(user, today: datetime.date | None = None) -> Cockpit | None:
    """Every figure of the cockpit for the user's reach, in a fixed number of queries (the
    staff profile, then one a figure); None for a user without a cockpit."""
    institutions = cockpit_institutions(user)
    if institutions is None:
        return None
    today = today or timezone.localdate()
    months = Months.of(today)
    tiles = [
        *referral_tiles(institutions, months),
        *order_tiles(institutions, months),
        *capacity_tiles(institutions),
    ]
    jobs = failed_jobs(user)
    alerts = {
        "overdue_referrals": overdue_referrals(institutions),
        "critical_values_unacknowledged": critical_unacknowledged(institutions),
        "members_without_data": members_without_data(cockpit_members(user, today), today),
        "failed_jobs": jobs["imports"] + jobs["recomputes"],
    }
    return Cockpit(months, reach_of(user), tiles, alerts, referral_ranking(institutions, months))
