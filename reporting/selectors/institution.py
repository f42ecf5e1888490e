"""One institution's page: its indicator history by year and month, and its charts."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from alliance.models import Institution

from ..choices import PeriodKind
from ..indicators import INDICATORS, Indicator
from ..models import IndicatorValue
from .figures import FLOWS, INSTITUTION_TRENDS, Figure
from .values import chart_of, month_label, readable_values, series_of, year_bounds


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
    rows = readable_values(user).filter(institution=institution, period_kind=PeriodKind.YEAR)
    yearly = {(r.indicator, int(r.period)): r for r in rows}
    years = sorted({year for _key, year in yearly})
    return InstitutionHistory(institution, years, yearly)


def with_months(user, history: InstitutionHistory, year: int) -> InstitutionHistory:
    """The institution's monthly values of the year (one query)."""
    start, end = year_bounds(year)
    rows = readable_values(user).filter(
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
        key: chart_of(key, [series_of(str(INDICATORS[key].name), history.month_figures(key))])
        for key in INSTITUTION_TRENDS
    }
    flows = [series_of(str(INDICATORS[k].name), history.month_figures(k)) for k in FLOWS]
    charts["referral_flows"] = chart_of(
        "upward_referrals", flows, kind="bar", title=_("Referrals up and down")
    )
    return {"months": [month_label(year, m) for m in range(1, 13)], "charts": charts}
