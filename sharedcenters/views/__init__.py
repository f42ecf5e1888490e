"""Pages of the shared centers (templates/sharedcenters/); URLs in sharedcenters/urls.py."""

from .centers import CenterListView, DashboardView, SlotBoardView
from .orders import (
    OrderActionView,
    OrderCreateView,
    OrderDetailView,
    OrderListView,
    OrderReportView,
    WorklistView,
)
from .sterilization import (
    CycleDetailView,
    CycleListView,
    PackageDetailView,
    PackageListView,
    SupplyRequestCreateView,
    SupplyRequestDetailView,
    SupplyRequestListView,
)

__all__ = [
    "CenterListView",
    "CycleDetailView",
    "CycleListView",
    "DashboardView",
    "OrderActionView",
    "OrderCreateView",
    "OrderDetailView",
    "OrderListView",
    "OrderReportView",
    "PackageDetailView",
    "PackageListView",
    "SlotBoardView",
    "SupplyRequestCreateView",
    "SupplyRequestDetailView",
    "SupplyRequestListView",
    "WorklistView",
]
