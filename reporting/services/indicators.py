"""Computing the indicators: components summed in SQL, ratios of sums, values replaced per year.

Per institution and month the database sums the additive components (bed-days, discharges,
visits, costs, referral and order counts). Quarters, years and alliances are sums of those
monthly sums, so an alliance value is the ratio of its members' sums. Medians cannot be summed:
they are computed in SQL for each period and scope.

periods.py names the periods, components.py sums the components, medians.py computes the
medians; this module rolls them up and stores the values.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.choices import Tier
from alliance.models import Alliance, Institution, Membership
from core import outbox
from core.errors import ActionNotAllowed

from .. import tasks
from ..choices import JobKind, JobStatus
from ..indicators import INDICATORS, ZERO, Components, Indicator
from ..models import BedCapacity, IndicatorValue, InpatientStay, Job, OutpatientVisit, ReferralCount
from ..rules import imports_facts
from .components import monthly_components
from .jobs import job_claim
from .medians import median_values
from .periods import DAY, FIRST_YEAR, MonthKey, Period, periods_of

logger = logging.getLogger(__name__)


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
    medians = median_values(year, cutoff, sorted(targets), alliances)
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
