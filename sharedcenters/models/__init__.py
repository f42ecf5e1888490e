"""Shared centers: catalog, diagnostic orders and their reports, imaging slots, sterilization
and the members' requests for sterile packages."""

from .centers import ServiceItem, SharedCenter
from .orders import ExamOrder, ExamOrderItem, ImagingSlot, OrderCounter, OrderEvent
from .results import LabResult, ReportVersion
from .sterilization import CycleEvent, InstrumentSet, Package, PackageEvent, SterilizationCycle
from .supply import MAX_REQUEST_QUANTITY, SupplyRequest, SupplyRequestEvent, SupplyRequestLine

__all__ = [
    "MAX_REQUEST_QUANTITY",
    "CycleEvent",
    "ExamOrder",
    "ExamOrderItem",
    "ImagingSlot",
    "InstrumentSet",
    "LabResult",
    "OrderCounter",
    "OrderEvent",
    "Package",
    "ReportVersion",
    "PackageEvent",
    "ServiceItem",
    "SharedCenter",
    "SterilizationCycle",
    "SupplyRequest",
    "SupplyRequestEvent",
    "SupplyRequestLine",
]
