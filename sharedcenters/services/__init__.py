"""Every write of the shared centers: diagnostic orders (`orders`, `reports`), sterilization
packages (`sterilization`), cycles (`cycles`) and the members' supply requests
(`supply_requests`). Callers import every name from `sharedcenters.services`."""

from .cycles import cycle_recall, cycle_record_results, cycle_start
from .orders import (
    CENTER,
    ORDERER,
    TRANSITIONS,
    allowed_actions,
    order_acknowledge,
    order_cancel,
    order_collect,
    order_create,
    order_receive,
    order_reject,
    order_schedule,
    order_start,
    sides_of,
)
from .reports import escalate_critical_values, order_amend, order_report
from .sterilization import (
    MEMBER,
    PACKAGE_MOVES,
    package_register,
    package_sides,
    packages_move,
    supply_request_sides,
)
from .supply_requests import supply_request_cancel, supply_request_create

__all__ = [
    "CENTER",
    "MEMBER",
    "ORDERER",
    "PACKAGE_MOVES",
    "TRANSITIONS",
    "allowed_actions",
    "cycle_recall",
    "cycle_record_results",
    "cycle_start",
    "escalate_critical_values",
    "order_acknowledge",
    "order_amend",
    "order_cancel",
    "order_collect",
    "order_create",
    "order_receive",
    "order_reject",
    "order_report",
    "order_schedule",
    "order_start",
    "package_register",
    "package_sides",
    "packages_move",
    "sides_of",
    "supply_request_cancel",
    "supply_request_create",
    "supply_request_sides",
]
