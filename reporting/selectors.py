"""Reads for the dashboards: whose figures a user sees, and the stored indicator values pivoted
into the tables and series the pages, charts and exports show.

Every page reads a fixed number of queries whatever the number of institutions or years: the
scope (memberships with their alliances, then the institutions in tree order) and the
IndicatorValue rows of the scope in one or two queries, pivoted here in Python.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

import rules
from django.db.models import F, Q
from django.http import Http404
from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alliance.models import Alliance, District, Institution, Membership
from core.access import profile_of, row_for_user

from .choices import PeriodKind
from .indicators import INDICATORS, Indicator
from .models import IndicatorValue
from .querysets import ALL, ALLIANCE, DISTRICT, NONE, reach_of

# The figures of the alliance headline, its monthly charts and the office's service figures.
HEADLINE = [
    "beds_per_1000",
    "health_workers_per_1000",
    "bed_utilization_rate",
    "avg_length_of_stay",
    "avg_outpatient_cost",
    "upward_referrals",
    "downward_referrals",
    "upward_referral_rate",
    "downward_referral_share",
    "primary_care_visit_share",
]
TRENDS = ["outpatient_visits", "discharges", "bed_utilization_rate"]
FLOWS = ["upward_referrals", "downward_referrals"]
CENTER_PERFORMANCE = [
    "exam_orders",
    "exam_tat_median_hours",
    "exam_on_time_rate",
    "critical_value_ack_median_minutes",
    "imaging_wait_days_priority",
    "imaging_wait_days_ordinary",
    "sterilization_cycle_pass_rate",
]
REFERRAL_PERFORMANCE = ["referral_response_median_minutes", "referral_rejection_rate"]
# Rates with no national formula (DOMAIN.md §5): their numerator and denominator are stated next
# to the value, not behind a "definition" toggle.
OPEN_DEFINITIONS = {"upward_referral_rate", "downward_referral_share"}
# The paper's Table 1; more columns can be chosen from the institution-level indicators.
TABLE_DEFAULT = ["avg_outpatient_cost", "bed_utilization_rate"]
TABLE_YEARS = 3
# The institution page's monthly charts.
INSTITUTION_TRENDS = [
    "outpatient_visits",
    "avg_outpatient_cost",
    "discharges",
    "bed_utilization_rate",
]

# DOMAIN.md §2: the paper's benchmarks for the alliance's per-1,000 figures.
BENCHMARKS: dict[str, list[tuple[object, Decimal]]] = {
    "beds_per_1000": [
        (gettext_lazy("Shanghai average"), Decimal("6.4")),
        (gettext_lazy("National (OECD figure)"), Decimal("4.2")),
    ],
    "health_workers_per_1000": [(gettext_lazy("Shanghai average"), Decimal("8.8"))],
}

DASH = "—"


def table_indicators() -> list[Indicator]:
    """Indicators with values per institution: the comparison table's choices."""
    return [i for i in INDICATORS.values() if i.institution_scope]


def format_number(number: Decimal | None, decimals: int) -> str:
    """Rounded half up (as the paper rounds), with thousands separators; None is a dash."""
    if number is None:
        return DASH
    return f"{rounded(number, decimals):,}"


def rounded(number: Decimal, decimals: int) -> Decimal:
    return number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _operand(number: Decimal) -> str:
    """A numerator or denominator as computed: whole numbers whole, others to the cent."""
    return format_number(number, 0 if number == number.to_integral_value() else 2)


def definition(indicator: Indicator) -> str:
    """numerator ÷ denominator × factor, in words, from the registry."""
    if indicator.is_median:
        return _("Median of: %(what)s, over: %(cases)s") % {
            "what": indicator.numerator,
            "cases": indicator.denominator,
        }
    text = str(indicator.numerator)
    if indicator.denominator is not None:
        text = f"({text}) ÷ ({indicator.denominator})"
    if indicator.factor != 1:
        text += f" × {indicator.factor:,}"
    return text


@dataclass(frozen=True)
class Figure:
    """One stored value (or its absence) of one indicator, scope and period."""

    indicator: Indicator
    value: Decimal | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    present: bool = False  # False: no value row at all (no data of this kind)
    members: int | None = None  # coverage (an alliance's figure from facts); None: not applicable
    reporting: int | None = None

    @classmethod
    def of(cls, indicator: Indicator, row: IndicatorValue | None) -> Figure:
        if row is None:
            return cls(indicator)
        return cls(
            indicator, row.value, row.numerator, row.denominator, True, row.members, row.reporting
        )

    @property
    def incomplete(self) -> bool:
        """Some member supplied no facts for some month of the period."""
        return self.members is not None and (self.reporting or 0) < self.members

    @property
    def impossible(self) -> bool:
        """A share over 100 %, a utilization over 200 %: never shown as a value."""
        maximum = self.indicator.maximum
        return self.value is not None and maximum is not None and self.value > maximum

    @property
    def comparable(self) -> bool:
        """A value that may stand next to others (a chart, a comparison, a ranking)."""
        return self.value is not None and not self.impossible and not self.incomplete

    @property
    def coverage(self) -> str:
        """'3/5' (members reporting / members), or '' where coverage does not apply."""
        return "" if self.members is None else f"{self.reporting or 0}/{self.members}"

    @property
    def coverage_text(self) -> str:
        if not self.incomplete:
            return ""
        return _("Incomplete data: %(reporting)d/%(members)d institutions") % {
            "reporting": self.reporting or 0,
            "members": self.members,
        }

    @cached_property  # read twice per table cell
    def text(self) -> str:
        if self.impossible:
            return _("impossible value")
        return format_number(self.value, self.indicator.decimals)

    @property
    def number(self) -> int | Decimal | None:
        """The value rounded as shown, for a spreadsheet cell ('165.00' stays 165.00)."""
        if self.value is None or self.impossible:
            return None
        value = rounded(self.value, self.indicator.decimals)
        return int(value) if self.indicator.decimals == 0 else value

    @property
    def chart_value(self) -> float | None:
        if not self.comparable:
            return None
        return float(rounded(self.value, self.indicator.decimals))

    @cached_property  # read twice per table cell
    def note(self) -> str:
        if self.impossible:
            return _(
                "impossible value (over %(maximum)d %%): the facts are incomplete or wrong, "
                "so it is not shown"
            ) % {"maximum": self.indicator.maximum}
        if self.value is not None:
            return self.coverage_text
        if self.present:
            return _("no value (denominator is zero)")
        return _("no data")

    @cached_property  # read twice per table cell
    def computation(self) -> str:
        """The numbers the value was computed from: '171,285 ÷ 1,000' or 'n = 12'."""
        if not self.present:
            return ""
        if self.indicator.is_median:
            return "" if self.denominator is None else f"n = {_operand(self.denominator)}"
        if self.denominator is None or self.numerator is None:
            return ""
        text = f"{_operand(self.numerator)} ÷ {_operand(self.denominator)}"
        if self.indicator.factor != 1:
            text += f" × {self.indicator.factor:,}"
        return text

    @property
    def definition(self) -> str:
        return definition(self.indicator)

    @property
    def open_definition(self) -> bool:
        return self.indicator.key in OPEN_DEFINITIONS

    @property
    def benchmarks(self) -> list[tuple[object, str]]:
        return [(label, f"{number:,}") for label, number in BENCHMARKS.get(self.indicator.key, [])]


# --- scope -------------------------------------------------------------------------------------


@dataclass
class Scope:
    """What a user's dashboards cover.

    kind: "all" (superuser), "alliance" (the office: its alliances), "district" (the bureau:
    its district's institutions and the alliances with a member there), "institution" (other
    staff: their own), "none".
    """

    kind: str
    alliances: list[Alliance] = field(default_factory=list)
    members: dict[int, set[int]] = field(default_factory=dict)  # alliance → institutions
    institutions: list[Institution] = field(default_factory=list)  # tree order
    district: District | None = None  # the bureau's, fixed
    institution_id: int | None = None  # other staff: their own

    @property
    def institution_ids(self) -> list[int]:
        return [i.pk for i in self.institutions]

    @property
    def alliance_ids(self) -> list[int]:
        return [a.pk for a in self.alliances]

    @property
    def districts(self) -> list[District]:
        """The districts of the scope's institutions, by code."""
        found = {i.district_id: i.district for i in self.institutions}
        return sorted(found.values(), key=lambda d: d.code)

    def narrowed(
        self,
        *,
        alliance_id: int | None = None,
        tier: str | None = None,
        district_id: int | None = None,
    ) -> Scope:
        """The scope under the dashboard's filters: one alliance, one tier, one district."""
        alliances, institutions = self.alliances, self.institutions
        if alliance_id is not None:
            alliances = [a for a in alliances if a.pk == alliance_id]
            members = self.members.get(alliance_id, set())
            institutions = [i for i in institutions if i.pk in members]
        if district_id is not None:
            institutions = [i for i in institutions if i.district_id == district_id]
            present = {i.pk for i in institutions}
            # Alliances with a member (a centre, with its stations) in the district.
            alliances = [a for a in alliances if self.members.get(a.pk, set()) & present]
        if tier:
            institutions = [i for i in institutions if i.tier == tier]
        return Scope(
            self.kind, alliances, self.members, institutions, self.district, self.institution_id
        )


def _institutions():
    return (
        Institution.objects.select_related("district")
        .annotate(grandparent_id=F("parent__parent_id"))
        .in_tree_order()
    )


def _members(memberships: Iterable[Membership], institutions: list[Institution]):
    """alliance → institutions: the member institutions and the stations under them."""
    direct: dict[int, set[int]] = defaultdict(set)
    alliances: dict[int, Alliance] = {}
    for membership in memberships:
        direct[membership.alliance_id].add(membership.institution_id)
        alliances[membership.alliance_id] = membership.alliance
    members = {
        alliance_id: {i.pk for i in institutions if {i.pk, i.parent_id, i.grandparent_id} & ids}
        for alliance_id, ids in direct.items()
    }
    return sorted(alliances.values(), key=lambda a: a.name), members


def dashboard_scope(user) -> Scope:
    """The user's scope in two queries (memberships with their alliances, then institutions),
    after the staff profile."""
    active = Membership.objects.active()
    reach = reach_of(user)
    if reach == ALL:
        memberships = list(active.select_related("alliance"))
        institutions = list(_institutions())
        alliances, members = _members(memberships, institutions)
        return Scope("all", alliances, members, institutions)
    if reach == NONE:
        return Scope("none")
    profile = profile_of(user)
    if reach == ALLIANCE:
        own = active.filter(institution_id=profile.institution_id).values("alliance_id")
        memberships = list(active.filter(alliance__in=own).select_related("alliance"))
        member_ids = {m.institution_id for m in memberships}
        institutions = list(_institutions().within(member_ids))
        alliances, members = _members(memberships, institutions)
        return Scope("alliance", alliances, members, institutions)
    if reach == DISTRICT:
        district_id = profile.institution.district_id
        touching = active.filter(institution__district_id=district_id).values("alliance_id")
        memberships = list(active.filter(alliance__in=touching).select_related("alliance"))
        institutions = list(_institutions().filter(district_id=district_id))
        alliances, members = _members(memberships, institutions)
        # The bureau's own institution is in its district: its district comes with the list.
        district = next(i.district for i in institutions if i.pk == profile.institution_id)
        return Scope("district", alliances, members, institutions, district=district)
    return Scope("institution", institution_id=profile.institution_id)


def may_view_institution(user, institution: Institution) -> bool:
    """The institution page: its own staff, the office of an alliance it belongs to, the
    bureau of its district, the superuser."""
    reach = reach_of(user)
    if reach in (ALL, NONE):
        return reach == ALL
    profile = profile_of(user)
    if reach == ALLIANCE:
        return (
            Institution.objects.in_alliances_of(profile.institution_id)
            .filter(pk=institution.pk)
            .exists()
        )
    if reach == DISTRICT:
        return profile.institution.district_id == institution.district_id
    return profile.institution_id == institution.pk


def institution_for_user(user, pk: int) -> Institution:
    """The institution if the user may see its figures (the rule in reporting/rules.py, which
    asks may_view_institution); a 404 otherwise, so its existence is not disclosed."""
    institution = Institution.objects.select_related("district", "parent").filter(pk=pk).first()
    if institution is None or not rules.has_perm(
        "reporting.view_institution_figures", user, institution
    ):
        raise Http404
    return institution


# --- values ------------------------------------------------------------------------------------


def _values(user):
    """Indicator values the user may read at all (reporting/querysets.py): a second fence
    behind the scope, in the same query."""
    return IndicatorValue.objects.restrict(user)


class Years(dict):
    """Year → the indicators with a yearly value in the scope; `complete`: the years in which
    every member of an alliance of the scope supplied facts for every month."""

    def __init__(self) -> None:
        super().__init__()
        self.complete: set[int] = set()


def years_with_values(user, scope: Scope) -> Years:
    """The years with values in the scope and those with complete facts (one query)."""
    rows = (
        _values(user)
        .filter(period_kind=PeriodKind.YEAR)
        .filter(Q(institution__in=scope.institution_ids) | Q(alliance__in=scope.alliance_ids))
        .values_list("period", "indicator", "members", "reporting")
        .distinct()
        .order_by()
    )
    years = Years()
    for period, key, members, reporting in rows:
        years.setdefault(int(period), set()).add(key)
        if members and reporting == members:
            years.complete.add(int(period))
    return years


def _year_bounds(year: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1)


def _month_label(year: int, month: int) -> str:
    return dateformat.format(datetime.date(year, month, 1), "M")


@dataclass
class ComparisonRow:
    institution: Institution
    cells: list[Figure]  # indicator by indicator, year by year
    in_year: bool = True  # a value in the chosen year: its page can open on that year

    @property
    def depth(self) -> int:
        return 2 if self.institution.grandparent_id else 1 if self.institution.parent_id else 0


@dataclass
class Comparison:
    """The paper's Table 1: institutions × (indicator × the years ending at the chosen one)."""

    indicators: list[Indicator]
    years: list[int]
    rows: list[ComparisonRow]
    without_values: int  # institutions of the scope with no value in these columns

    @property
    def columns(self) -> list[tuple[Indicator, int]]:
        return [(i, year) for i in self.indicators for year in self.years]

    @property
    def definitions(self) -> list[tuple[Indicator, str]]:
        return [(i, definition(i)) for i in self.indicators]


def comparison(user, institutions: list[Institution], keys: list[str], year: int) -> Comparison:
    indicators = [INDICATORS[k] for k in keys]
    years = list(range(year - TABLE_YEARS + 1, year + 1))
    rows = _values(user).filter(
        institution__in=[i.pk for i in institutions],
        period_kind=PeriodKind.YEAR,
        period__in=[str(y) for y in years],
        indicator__in=keys,
    )
    found = {(r.institution_id, r.indicator, int(r.period)): r for r in rows}
    table, without = [], 0
    for institution in institutions:
        cells = [
            Figure.of(indicator, found.get((institution.pk, indicator.key, y)))
            for indicator in indicators
            for y in years
        ]
        if any(cell.present for cell in cells):
            in_year = any(cell.present for cell in cells[len(years) - 1 :: len(years)])
            table.append(ComparisonRow(institution, cells, in_year))
        else:
            without += 1
    return Comparison(indicators, years, table, without)


@dataclass
class AllianceFigures:
    """An alliance's figures of the year: headline, monthly series, service performance."""

    alliance: Alliance
    year: int
    rows: dict[tuple[str, str], IndicatorValue]  # (indicator, period) → value row

    def figure(self, key: str, period: str | None = None) -> Figure:
        return Figure.of(INDICATORS[key], self.rows.get((key, period or str(self.year))))

    @property
    def headline(self) -> list[Figure]:
        return [self.figure(key) for key in HEADLINE]

    @property
    def centers(self) -> list[Figure]:
        return [self.figure(key) for key in CENTER_PERFORMANCE]

    @property
    def referrals(self) -> list[Figure]:
        return [self.figure(key) for key in REFERRAL_PERFORMANCE]

    def monthly(self, key: str) -> list[Figure]:
        return [self.figure(key, f"{self.year}-{m:02d}") for m in range(1, 13)]


def by_indicator(
    figures: list[AllianceFigures], keys: list[str]
) -> list[tuple[Indicator, list[Figure]]]:
    """Rows of indicators, a column per alliance (the office's service figures)."""
    return [(INDICATORS[key], [f.figure(key) for f in figures]) for key in keys]


def alliance_figures(user, alliances: list[Alliance], year: int) -> list[AllianceFigures]:
    """The alliances' yearly and monthly values of the year (one query)."""
    keys = set(HEADLINE + TRENDS + FLOWS + CENTER_PERFORMANCE + REFERRAL_PERFORMANCE)
    start, end = _year_bounds(year)
    rows = _values(user).filter(
        Q(period_kind=PeriodKind.YEAR, period=str(year))
        | Q(period_kind=PeriodKind.MONTH, period_start__gte=start, period_start__lt=end),
        alliance__in=[a.pk for a in alliances],
        indicator__in=keys,
    )
    by_alliance: dict[int, dict] = defaultdict(dict)
    for row in rows:
        by_alliance[row.alliance_id][(row.indicator, row.period)] = row
    return [AllianceFigures(a, year, by_alliance.get(a.pk, {})) for a in alliances]


def _series(name: str, figures: list[Figure]) -> dict:
    return {"name": name, "data": [f.chart_value for f in figures]}


def _chart(key: str, series: list[dict], kind: str = "line", title: str | None = None) -> dict:
    indicator = INDICATORS[key]
    return {
        "title": title or str(indicator.name),
        "unit": str(indicator.unit),
        "type": kind,
        "series": series,
        "empty": all(v is None for s in series for v in s["data"]),
    }


def alliance_charts(figures: list[AllianceFigures], year: int) -> dict:
    """The monthly charts' data for json_script: one series per alliance (and direction)."""
    several = len(figures) > 1
    charts = {
        key: _chart(key, [_series(f.alliance.name, f.monthly(key)) for f in figures])
        for key in TRENDS
    }
    flows = []
    for f in figures:
        for key in FLOWS:
            label = str(INDICATORS[key].name)
            flows.append(
                _series(f"{f.alliance.name} · {label}" if several else label, f.monthly(key))
            )
    charts["referral_flows"] = _chart(
        "upward_referrals", flows, kind="bar", title=_("Referrals up and down")
    )
    return {"months": [_month_label(year, m) for m in range(1, 13)], "charts": charts}


# --- one institution ---------------------------------------------------------------------------


@dataclass
class InstitutionHistory:
    """An institution's yearly values (indicators × years) and its months of one year."""

    institution: Institution
    years: list[int]
    yearly: dict[tuple[str, int], IndicatorValue]
    monthly: dict[tuple[str, int], IndicatorValue] = field(default_factory=dict)
    year: int | None = None

    @property
    def indicators(self) -> list[Indicator]:
        keys = {key for key, _year in self.yearly}
        return [i for i in INDICATORS.values() if i.key in keys]

    @property
    def rows(self) -> list[tuple[Indicator, list[Figure]]]:
        return [
            (i, [Figure.of(i, self.yearly.get((i.key, y))) for y in self.years])
            for i in self.indicators
        ]

    def month_figures(self, key: str) -> list[Figure]:
        return [Figure.of(INDICATORS[key], self.monthly.get((key, m))) for m in range(1, 13)]

    @property
    def monthly_keys(self) -> list[str]:
        keys = {key for key, _month in self.monthly}
        return [k for k in INDICATORS if k in keys]


def institution_history(user, institution: Institution) -> InstitutionHistory:
    """Every yearly value of the institution (one query)."""
    rows = _values(user).filter(institution=institution, period_kind=PeriodKind.YEAR)
    yearly = {(r.indicator, int(r.period)): r for r in rows}
    years = sorted({year for _key, year in yearly})
    return InstitutionHistory(institution, years, yearly)


def with_months(user, history: InstitutionHistory, year: int) -> InstitutionHistory:
    """The institution's monthly values of the year (one query)."""
    start, end = _year_bounds(year)
    rows = _values(user).filter(
        institution=history.institution,
        period_kind=PeriodKind.MONTH,
        period_start__gte=start,
        period_start__lt=end,
    )
    history.monthly = {(r.indicator, r.period_start.month): r for r in rows}
    history.year = year
    return history


def institution_charts(history: InstitutionHistory) -> dict:
    year = history.year
    charts = {
        key: _chart(key, [_series(str(INDICATORS[key].name), history.month_figures(key))])
        for key in INSTITUTION_TRENDS
    }
    flows = [_series(str(INDICATORS[k].name), history.month_figures(k)) for k in FLOWS]
    charts["referral_flows"] = _chart(
        "upward_referrals", flows, kind="bar", title=_("Referrals up and down")
    )
    return {"months": [_month_label(year, m) for m in range(1, 13)], "charts": charts}


def jobs_for(user, kind: str):
    """Jobs of one kind the user may follow (reporting.querysets.JobQuerySet)."""
    from .models import Job

    return Job.objects.restrict(user).filter(kind=kind)


def job_for_user(user, pk, *, kind: str, for_update: bool = False):
    """One job of the kind the user may follow, else 404 (fetch and authorise together)."""
    return row_for_user(jobs_for(user, kind), user, pk, for_update=for_update)
