"""Pages of reporting (templates/reporting/); URLs in reporting/urls.py."""

from .cockpit import CockpitView
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
    "CockpitView",
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
