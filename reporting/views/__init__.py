"""Pages of reporting (templates/reporting/); URLs in reporting/urls.py."""

from .dashboards import DashboardView, InstitutionDashboardView
from .imports import ImportDetailView, ImportListView, ImportTemplateView
from .jobs import RecomputeDetailView, RecomputeListView

__all__ = [
    "DashboardView",
    "ImportDetailView",
    "ImportListView",
    "ImportTemplateView",
    "InstitutionDashboardView",
    "RecomputeDetailView",
    "RecomputeListView",
]
