"""Shared centers: catalog, diagnostic orders and their reports, imaging slots, sterilization."""

from .centers import ServiceItem, SharedCenter
from .orders import ExamOrder, ExamOrderItem, ImagingSlot, LabResult, OrderCounter, OrderEvent
from .sterilization import InstrumentSet, Package, PackageEvent, SterilizationCycle

__all__ = [
    "ExamOrder",
    "ExamOrderItem",
    "ImagingSlot",
    "InstrumentSet",
    "LabResult",
    "OrderCounter",
    "OrderEvent",
    "Package",
    "PackageEvent",
    "ServiceItem",
    "SharedCenter",
    "SterilizationCycle",
]
