"""Pages of the shared centers (templates/sharedcenters/); URLs in sharedcenters/urls.py."""

from .centers import CenterListView, DashboardView, SlotBoardView
from .cycles import CycleDetailView, CycleListView
from .order_detail import OrderActionView, OrderDetailView, OrderReportView
from .orders import OrderCreateView, OrderListView
from .packages import PackageDetailView, PackageListView
from .supply_requests import (
    SupplyRequestCreateView,
    SupplyRequestDetailView,
    SupplyRequestListView,
)
from .worklist import WorklistView

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
