"""Demo facts: 2017–2019 visits, stays and beds from which the paper's Table 1 is computed.

The generator does not store the table: it builds encounter-level rows (visits as daily
department totals, individual stays, bed capacities) whose totals make the normal computation
arrive at the published figures (cost to the cent, utilization to 0.01 percentage point).
"""

from __future__ import annotations

import datetime
import random
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from alliance.models import Institution
from referrals.models import Referral

from .choices import ReferralDirection, VisitType
from .models import BedCapacity, InpatientStay, OutpatientVisit, ReferralCount
from .services.indicators import recompute

YEARS = (2017, 2018, 2019)
CENT = Decimal("0.01")

# Table 1 of the paper: outpatient cost per visit (yuan) and bed utilization (%) per year.
TABLE_1: dict[str, dict[str, tuple]] = {
    "万祥": {"cost": ("139.62", "161.95", "171.29"), "use": ("94.07", "88.61", "98.67")},
    "泥城": {"cost": ("144.11", "163.45", "155.16"), "use": ("82.43", "87.82", "55.19")},
    "芦潮港": {"cost": ("90.11", "106.00", "115.63"), "use": ("87.00", "76.00", "85.00")},
    "书院": {"cost": ("165.00", "175.00", "182.00"), "use": (None, None, None)},
}
# Open beds of the centers (书院 reports none) and their daily outpatient volume.
CENTER_BEDS = {"万祥": 80, "泥城": 100, "芦潮港": 60, "书院": 0}
CENTER_VISITS = {"万祥": 420, "泥城": 610, "芦潮港": 380, "书院": 520}
CENTER_DEPARTMENTS = [
    ("全科", VisitType.OUTPATIENT, 0.72),
    ("中医科", VisitType.OUTPATIENT, 0.2),
    ("急诊", VisitType.EMERGENCY, 0.08),
]
LEAD = "临港院区"
# DOMAIN.md §2: 2019, before the platform ran, as the paper counts it: upward referrals from the
# primary institutions, downward referrals from the lead hospital. Imported as monthly counts.
REFERRALS_2019 = {ReferralDirection.UP: 60_297, ReferralDirection.DOWN: 8_504}
LEAD_BEDS = ((datetime.date(2017, 1, 1), 600), (datetime.date(2019, 7, 1), 620))
LEAD_DEPARTMENTS = [
    ("心内科", 0.14),
    ("内分泌科", 0.1),
    ("消化内科", 0.1),
    ("呼吸内科", 0.1),
    ("骨科", 0.12),
    ("普外科", 0.1),
    ("妇产科", 0.1),
    ("儿科", 0.1),
    ("急诊科", 0.14),
]


def _days(year: int) -> list[datetime.date]:
    first = datetime.date(year, 1, 1)
    return [
        first + datetime.timedelta(days=n)
        for n in range((datetime.date(year + 1, 1, 1) - first).days)
    ]


def _visits(
    institution: Institution,
    year: int,
    daily: int,
    per_visit: Decimal,
    departments,
    rng: random.Random,
    exact: bool,
) -> list[OutpatientVisit]:
    """Daily department totals; with `exact`, the year's cost ÷ visits rounds to `per_visit`."""
    rows = []
    for day in _days(year):
        weekend = day.weekday() >= 5
        volume = daily * (0.6 if weekend else 1.0) * rng.uniform(0.85, 1.15)
        for index, (name, kind, share) in enumerate(departments):
            count = max(1, round(volume * share))
            cost = (per_visit * count * Decimal(rng.uniform(0.8, 1.2))).quantize(CENT)
            rows.append(
                OutpatientVisit(
                    institution=institution,
                    record_id=f"MZ{day:%Y%m%d}-{index + 1:02d}",
                    visit_date=day,
                    visit_type=kind,
                    department=name,
                    visit_count=count,
                    total_cost=cost,
                )
            )
    if exact:
        visits = sum(r.visit_count for r in rows)
        target = (per_visit * visits).quantize(CENT, ROUND_HALF_UP)
        # Spread the difference over the rows by their size so none goes negative.
        difference = target - sum(r.total_cost for r in rows)
        share = (difference / visits).quantize(CENT, rounding="ROUND_DOWN")
        for r in rows:
            r.total_cost += share * r.visit_count
        rows[-1].total_cost += target - sum(r.total_cost for r in rows)
    return rows


def _stays(
    institution: Institution,
    year: int,
    beds: list[tuple[datetime.date, int]],
    occupied: int,
    mean_stay: int,
    per_day: Decimal,
    rng: random.Random,
) -> list[InpatientStay]:
    """Stays bed by bed, inside the year, whose nights add up to exactly `occupied`."""
    first, after = datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1)
    # Each bed's open days in the year: beds added by a later record open on its date.
    bed_windows, previous = [], 0
    for since, count in beds:
        opens = max(since, first)
        if opens < after:
            bed_windows += [(opens, after)] * max(0, count - previous)
        previous = count
    total_open = sum((end - start).days for start, end in bed_windows)
    rows, serial = [], 0
    remaining = occupied
    for number, (start, end) in enumerate(bed_windows):
        open_days = (end - start).days
        quota = min(open_days - 1, round(remaining * open_days / total_open))
        if number == len(bed_windows) - 1:
            quota = remaining
        remaining -= quota
        total_open -= open_days
        lengths = []
        while sum(lengths) < quota:
            lengths.append(max(1, round(rng.gauss(mean_stay, mean_stay / 3))))
        lengths[-1] -= sum(lengths) - quota
        lengths = [n for n in lengths if n > 0]
        gap_budget = open_days - quota - 1
        cuts = sorted(rng.randint(0, gap_budget) for _ in lengths)
        gaps = [b - a for a, b in zip([0, *cuts], cuts, strict=False)]
        day = start
        for length, gap in zip(lengths, gaps, strict=True):
            day += datetime.timedelta(days=gap)
            discharge = day + datetime.timedelta(days=length)
            serial += 1
            cost = (per_day * length * Decimal(rng.uniform(0.7, 1.3))).quantize(CENT)
            rows.append(
                InpatientStay(
                    institution=institution,
                    stay_id=f"ZY{year}{serial:06d}",
                    department="",
                    admit_date=day,
                    discharge_date=discharge,
                    total_cost=cost,
                )
            )
            day = discharge
    return rows


def _occupied(percent: str, open_bed_days: int) -> int:
    """The whole number of bed-days whose rate rounds to `percent` at 0.01."""
    target = Decimal(percent)
    guess = round(target * open_bed_days / 100)
    for candidate in (guess, guess - 1, guess + 1):
        rate = (Decimal(candidate) * 100 / open_bed_days).quantize(CENT, ROUND_HALF_UP)
        if rate == target:
            return candidate
    raise ValueError(f"no bed-day count gives {percent} % of {open_bed_days}")


def _open_bed_days(year: int, beds: list[tuple[datetime.date, int]]) -> int:
    total = 0
    for day in _days(year):
        total += max((count for since, count in beds if since <= day), default=0)
    return total


def build(institution: Institution, rng: random.Random) -> tuple[list, list, list]:
    name = institution.short_name
    visits, stays, capacity = [], [], []
    if name == LEAD:
        beds = list(LEAD_BEDS)
        capacity = [
            BedCapacity(institution=institution, effective_from=s, open_beds=n) for s, n in beds
        ]
        departments = [
            (n, VisitType.EMERGENCY if n == "急诊科" else VisitType.OUTPATIENT, share)
            for n, share in LEAD_DEPARTMENTS
        ]
        for offset, year in enumerate(YEARS):
            visits += _visits(
                institution,
                year,
                2500 + 150 * offset,
                Decimal(310 + 12 * offset),
                departments,
                rng,
                exact=False,
            )
            occupied = round(_open_bed_days(year, beds) * rng.uniform(0.88, 0.93))
            stays += _stays(institution, year, beds, occupied, 14, Decimal(1800), rng)
        return visits, stays, capacity
    figures = TABLE_1[name]
    beds = [(datetime.date(2017, 1, 1), CENTER_BEDS[name])] if CENTER_BEDS[name] else []
    capacity = [
        BedCapacity(institution=institution, effective_from=s, open_beds=n) for s, n in beds
    ]
    for index, year in enumerate(YEARS):
        visits += _visits(
            institution,
            year,
            CENTER_VISITS[name],
            Decimal(figures["cost"][index]),
            CENTER_DEPARTMENTS,
            rng,
            exact=True,
        )
        if beds:
            occupied = _occupied(figures["use"][index], _open_bed_days(year, beds))
            stays += _stays(institution, year, beds, occupied, 21, Decimal(650), rng)
    return visits, stays, capacity


def _spread(total: int, weights: list[float]) -> list[int]:
    """`total` split by `weights` into whole numbers that add up to it exactly."""
    shares = [total * w / sum(weights) for w in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def referral_counts(institutions: list[Institution], year: int = 2019) -> list[ReferralCount]:
    """The paper's 2019 referrals as each system would export them: per month, the centres'
    upward referrals to the lead hospital and its downward ones back to each centre, split
    by the centres' outpatient volume and the days of the month."""
    lead = next(i for i in institutions if i.short_name == LEAD)
    centers = [i for i in institutions if i.short_name in CENTER_VISITS]
    months = [
        (datetime.date(year, m, 1), len([d for d in _days(year) if d.month == m]))
        for m in range(1, 13)
    ]
    cells = [(center, month) for center in centers for month, _days_in in months]
    weights = [CENTER_VISITS[c.short_name] * days for c in centers for _m, days in months]
    rows = []
    for direction, total in REFERRALS_2019.items():
        for (center, month), count in zip(cells, _spread(total, weights), strict=True):
            up = direction == ReferralDirection.UP
            rows.append(
                ReferralCount(
                    institution=center if up else lead,
                    month=month,
                    direction=direction,
                    to_institution_code=(lead if up else center).code,
                    count=count,
                )
            )
    return rows


# The recent years' facts (last year whole, this year up to its last complete month), so the
# dashboards open on a year of today's, not on 2019: 四团平安 (a member since 2021) sends too.
RECENT_CENTERS = {"四团平安": (450, 50, Decimal("150.00"))}  # visits a day, beds, cost per visit


def recent_years(today: datetime.date | None = None) -> list[int]:
    today = today or timezone.localdate()
    return [today.year - 1] + ([today.year] if today.month > 1 else [])


def build_recent(institution: Institution, today: datetime.date) -> tuple[list, list, list]:
    """Facts of the recent years, up to the end of the last complete month: visits near the
    2019 volume (cost growing 3 % a year), stays filling 80–92 % of the beds."""
    rng = random.Random(f"recent-{institution.short_name}")  # noqa: S311 - demo data
    name, until = institution.short_name, today.replace(day=1)
    capacity = []
    if name == LEAD:
        beds, daily, cost, per_day, mean_stay = list(LEAD_BEDS), 2800, Decimal(334), 1800, 14
        departments = [
            (n, VisitType.EMERGENCY if n == "急诊科" else VisitType.OUTPATIENT, share)
            for n, share in LEAD_DEPARTMENTS
        ]
    elif name in RECENT_CENTERS:
        daily, open_beds, cost = RECENT_CENTERS[name]
        beds, per_day, mean_stay = [(datetime.date(2021, 7, 1), open_beds)], 650, 21
        departments = CENTER_DEPARTMENTS
        capacity = [
            BedCapacity(institution=institution, effective_from=beds[0][0], open_beds=open_beds)
        ]
    else:
        daily, cost = CENTER_VISITS[name], Decimal(TABLE_1[name]["cost"][-1])
        beds = [(datetime.date(2017, 1, 1), CENTER_BEDS[name])] if CENTER_BEDS[name] else []
        per_day, mean_stay, departments = 650, 21, CENTER_DEPARTMENTS
    visits, stays = [], []
    for year in recent_years(today):
        per_visit = (cost * Decimal("1.03") ** (year - YEARS[-1])).quantize(CENT)
        visits += [
            v
            for v in _visits(institution, year, daily, per_visit, departments, rng, exact=False)
            if v.visit_date < until
        ]
        if beds:
            occupied = round(_open_bed_days(year, beds) * rng.uniform(0.8, 0.92))
            made = _stays(institution, year, beds, occupied, mean_stay, Decimal(per_day), rng)
            for stay in made:
                if stay.admit_date >= until:
                    continue
                if stay.discharge_date >= until:  # still in hospital at the last file's end
                    stay.discharge_date = None
                stays.append(stay)
    return visits, stays, capacity


def load_demo() -> dict[str, int]:
    names = [LEAD, *TABLE_1, *RECENT_CENTERS]
    institutions = Institution.objects.filter(short_name__in=names).order_by("pk")
    loaded = set(
        OutpatientVisit.objects.filter(institution__in=institutions)
        .values_list("institution", flat=True)
        .distinct()
    )
    today = timezone.localdate()
    with transaction.atomic():
        for institution in institutions:
            if institution.pk in loaded:
                continue
            visits, stays, capacity = build_recent(institution, today)
            if institution.short_name in TABLE_1 or institution.short_name == LEAD:
                rng = random.Random(f"facts-{institution.short_name}")  # noqa: S311 - demo data
                paper = build(institution, rng)
                visits, stays, capacity = paper[0] + visits, paper[1] + stays, paper[2] + capacity
            BedCapacity.objects.bulk_create(capacity, ignore_conflicts=True)
            OutpatientVisit.objects.bulk_create(visits, batch_size=2000, ignore_conflicts=True)
            InpatientStay.objects.bulk_create(stays, batch_size=2000, ignore_conflicts=True)
        ReferralCount.objects.bulk_create(
            referral_counts(list(institutions)), ignore_conflicts=True
        )
        for year in demo_years():
            recompute(year)
    return {
        "visit rows": OutpatientVisit.objects.count(),
        "inpatient stays": InpatientStay.objects.count(),
        "referral counts": ReferralCount.objects.count(),
    }


def demo_years() -> list[int]:
    """The fact years and the years of the platform's own activity up to this one."""
    first = Referral.objects.filter(submitted_at__isnull=False).order_by("submitted_at").first()
    this_year = timezone.localdate().year
    start = timezone.localtime(first.submitted_at).year if first else this_year
    return sorted({*YEARS, *recent_years(), *range(max(start, YEARS[-1] + 1), this_year + 1)})
