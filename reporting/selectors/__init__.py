"""Reads for the dashboards: whose figures a user sees, and the stored indicator values pivoted
into the tables and series the pages, charts and exports show.

Every page reads a fixed number of queries whatever the number of institutions or years: the
scope (memberships with their alliances, then the institutions in tree order) and the
IndicatorValue rows of the scope in one or two queries, pivoted here in Python.

figures.py chooses and formats the figures, scope.py finds whose they are, values.py pivots the
stored values, institution.py makes one institution's page. The views use them as
`selectors.<name>`: every public name is named here.
"""

from .figures import (
    BENCHMARKS,
    CENTER_PERFORMANCE,
    DASH,
    FLOWS,
    HEADLINE,
    INSTITUTION_TRENDS,
    OPEN_DEFINITIONS,
    REFERRAL_PERFORMANCE,
    TABLE_DEFAULT,
    TABLE_YEARS,
    TRENDS,
    Figure,
    definition,
    format_number,
    rounded,
    table_indicators,
)
from .home import failed_jobs, members_missing_data
from .institution import (
    InstitutionHistory,
    institution_charts,
    institution_history,
    with_months,
)
from .scope import (
    Scope,
    dashboard_scope,
    institution_for_user,
    job_for_user,
    jobs_for,
    may_view_institution,
)
from .values import (
    AllianceFigures,
    Comparison,
    ComparisonRow,
    Years,
    alliance_charts,
    alliance_figures,
    by_indicator,
    chart_of,
    comparison,
    month_label,
    readable_values,
    series_of,
    year_bounds,
    years_with_values,
)

__all__ = [
    "failed_jobs",
    "members_missing_data",
    "AllianceFigures",
    "BENCHMARKS",
    "CENTER_PERFORMANCE",
    "Comparison",
    "ComparisonRow",
    "DASH",
    "FLOWS",
    "Figure",
    "HEADLINE",
    "INSTITUTION_TRENDS",
    "InstitutionHistory",
    "OPEN_DEFINITIONS",
    "REFERRAL_PERFORMANCE",
    "Scope",
    "TABLE_DEFAULT",
    "TABLE_YEARS",
    "TRENDS",
    "Years",
    "alliance_charts",
    "alliance_figures",
    "by_indicator",
    "chart_of",
    "comparison",
    "dashboard_scope",
    "definition",
    "format_number",
    "institution_charts",
    "institution_for_user",
    "institution_history",
    "job_for_user",
    "jobs_for",
    "may_view_institution",
    "month_label",
    "readable_values",
    "rounded",
    "series_of",
    "table_indicators",
    "with_months",
    "year_bounds",
    "years_with_values",
]
