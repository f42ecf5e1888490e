"""Shared centers: catalog, diagnostic orders and their reports, imaging slots, sterilization
and the members' requests for sterile packages."""

from .centers import ServiceItem, SharedCenter
from .orders import (
    ExamOrder,
    ExamOrderItem,
    ImagingSlot,
    LabResult,
    OrderCounter,
    OrderEvent,
    ReportVersion,
)
from .sterilization import (
    MAX_REQUEST_QUANTITY,
    CycleEvent,
    InstrumentSet,
    Package,
    PackageEvent,
    SterilizationCycle,
    SupplyRequest,
    SupplyRequestEvent,
    SupplyRequestLine,
)

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
