"""Pages of reporting (templates/reporting/); URLs in reporting/urls.py."""

from .dashboards import DashboardView, InstitutionDashboardView
from .imports import (
    ImportConfirmView,
    ImportDetailView,
    ImportListView,
    ImportRerunView,
    ImportTemplateView,
)
from .jobs import RecomputeDetailView, RecomputeListView, RecomputeRerunView

__all__ = [
    "DashboardView",
    "ImportConfirmView",
    "ImportRerunView",
    "ImportDetailView",
    "ImportListView",
    "ImportTemplateView",
    "InstitutionDashboardView",
    "RecomputeDetailView",
    "RecomputeListView",
    "RecomputeRerunView",
]
