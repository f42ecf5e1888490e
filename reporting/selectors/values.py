"""The stored indicator values of a scope, pivoted into the tables and series the dashboards,
charts and exports show."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q
from django.utils import dateformat
from django.utils.translation import gettext as _

from alliance.models import Alliance, Institution

from ..choices import PeriodKind
from ..indicators import INDICATORS, Indicator
from ..models import IndicatorValue
from .figures import (
    CENTER_PERFORMANCE,
    FLOWS,
    HEADLINE,
    REFERRAL_PERFORMANCE,
    TABLE_YEARS,
    TRENDS,
    Figure,
    definition,
)
from .scope import Scope


def readable_values(user):
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
        readable_values(user)
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


def year_bounds(year: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1)


def month_label(year: int, month: int) -> str:
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
    rows = readable_values(user).filter(
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
    start, end = year_bounds(year)
    rows = readable_values(user).filter(
        Q(period_kind=PeriodKind.YEAR, period=str(year))
        | Q(period_kind=PeriodKind.MONTH, period_start__gte=start, period_start__lt=end),
        alliance__in=[a.pk for a in alliances],
        indicator__in=keys,
    )
    by_alliance: dict[int, dict] = defaultdict(dict)
    for row in rows:
        by_alliance[row.alliance_id][(row.indicator, row.period)] = row
    return [AllianceFigures(a, year, by_alliance.get(a.pk, {})) for a in alliances]


def series_of(name: str, figures: list[Figure]) -> dict:
    return {"name": name, "data": [f.chart_value for f in figures]}


def chart_of(key: str, series: list[dict], kind: str = "line", title: str | None = None) -> dict:
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
        key: chart_of(key, [series_of(f.alliance.name, f.monthly(key)) for f in figures])
        for key in TRENDS
    }
    flows = []
    for f in figures:
        for key in FLOWS:
            label = str(INDICATORS[key].name)
            flows.append(
                series_of(f"{f.alliance.name} · {label}" if several else label, f.monthly(key))
            )
    charts["referral_flows"] = chart_of(
        "upward_referrals", flows, kind="bar", title=_("Referrals up and down")
    )
    return {"months": [month_label(year, m) for m in range(1, 13)], "charts": charts}
