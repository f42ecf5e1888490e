"""The shared centers' state machines (core.workflow): diagnostic orders, sterilization packages,
supply requests and sterilization cycles. Who may take which step from which state; the
services take the steps, the pages, the API and the tests read the same tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alliance.choices import Role
from core.access import profile_of
from core.workflow import SYSTEM, Machine, Transition, transition

from .choices import (
    DIAGNOSTIC_KINDS,
    CenterKind,
    CycleStatus,
    IndicatorResult,
    OrderAction,
    OrderStatus,
    PackageAction,
    PackageStatus,
    SupplyRequestStatus,
)
from .models import (
    CycleEvent,
    ExamOrder,
    OrderEvent,
    Package,
    PackageEvent,
    SterilizationCycle,
    SupplyRequest,
    SupplyRequestEvent,
)
from .querysets import center_ids_of, member_scope_ids

ORDERER, CENTER, MEMBER = "orderer", "center", "member"
FORBIDDEN = gettext_lazy("Only the %(side)s may do this.")

# --- diagnostic orders -------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderTransition(Transition):
    kinds: frozenset[str] = frozenset(DIAGNOSTIC_KINDS)  # the centers whose orders take it


def order_sides(actor, order: ExamOrder) -> set[str]:
    if actor is None:
        return {SYSTEM}
    if actor.is_active and actor.is_superuser:
        return {ORDERER, CENTER}
    profile = profile_of(actor)
    if profile is None:
        return set()
    sides = set()
    if order.ordering_institution_id in member_scope_ids(profile):
        sides.add(ORDERER)
    if order.center_id in center_ids_of(profile):
        sides.add(CENTER)
    return sides


def _o(action: str, sources: set[str], target: str, side: str, kinds=DIAGNOSTIC_KINDS):
    kinds = frozenset(kinds)

    def wrong_kind(order: ExamOrder) -> str:
        return _("A %(kind)s order cannot be %(action)s.") % {
            "kind": order.center.get_kind_display(),
            "action": OrderAction(action).label,
        }

    when = None if kinds == frozenset(DIAGNOSTIC_KINDS) else lambda o: o.center.kind in kinds
    return OrderTransition(
        frozenset(sources), target, frozenset({side}), when=when, refusal=wrong_kind, kinds=kinds
    )


SPECIMEN_KINDS = (CenterKind.LAB, CenterKind.ECG)  # taken at the member, then sent
BOOKED_KINDS = (CenterKind.IMAGING,)  # the patient is booked into a slot at the center
S, A = OrderStatus, OrderAction

ORDER_TRANSITIONS: dict[str, OrderTransition] = {
    A.COLLECT: _o(A.COLLECT, {S.ORDERED, S.REJECTED}, S.COLLECTED, ORDERER, SPECIMEN_KINDS),
    A.SCHEDULE: _o(A.SCHEDULE, {S.ORDERED, S.SCHEDULED}, S.SCHEDULED, ORDERER, BOOKED_KINDS),
    A.RECEIVE: _o(A.RECEIVE, {S.COLLECTED, S.SCHEDULED}, S.RECEIVED, CENTER),
    A.REJECT: _o(A.REJECT, {S.COLLECTED, S.RECEIVED}, S.REJECTED, CENTER, (CenterKind.LAB,)),
    A.START: _o(A.START, {S.RECEIVED}, S.IN_PROGRESS, CENTER),
    A.REPORT: _o(A.REPORT, {S.RECEIVED, S.IN_PROGRESS}, S.REPORTED, CENTER),
    # An amended report is read again by the orderer: back to `reported`.
    A.AMEND: _o(A.AMEND, {S.REPORTED, S.ACKNOWLEDGED}, S.REPORTED, CENTER),
    A.ACKNOWLEDGE: _o(A.ACKNOWLEDGE, {S.REPORTED}, S.ACKNOWLEDGED, ORDERER),
    A.CANCEL: _o(A.CANCEL, {S.ORDERED, S.COLLECTED, S.SCHEDULED, S.REJECTED}, S.CANCELLED, ORDERER),
}


def lock_order(order: ExamOrder) -> ExamOrder:
    # `of=self`: locking the joined center row too would queue every order of the center.
    return (
        ExamOrder.objects.select_for_update(of=("self",)).select_related("center").get(pk=order.pk)
    )


ORDERS = Machine(
    ExamOrder,
    ORDER_TRANSITIONS,
    sides=order_sides,
    event=lambda order, **fields: OrderEvent(order=order, **fields),
    lock=lock_order,
    labels=lambda action: OrderAction(action).label,
    side_labels={ORDERER: gettext_lazy("ordering institution"), CENTER: gettext_lazy("center")},
    illegal=gettext_lazy("This order is %(status)s; it cannot be %(action)s now."),
)
ORDERS.add_rules("sharedcenters.examorder")


# --- sterilization packages ------------------------------------------------------------------


@dataclass(frozen=True)
class PackageTransition(Transition):
    where: str = "stay"  # after it the package is at the "center", its "owner", or stays put
    scan: bool = True  # a step staff scan; a recall blocks packages without a scan


def _p(sources: set[str], target: str, sides: set[str], where: str, scan=True):
    return PackageTransition(frozenset(sources), target, frozenset(sides), where=where, scan=scan)


P = PackageStatus
BLOCK = "block"
# A recall blocks what is still sterile on the shelf, on the way or at the member.
UNUSED_AFTER_STERILIZATION = frozenset({P.STERILIZED, P.STORED, P.DISPATCHED, P.RECEIVED_BY_MEMBER})
PACKAGE_TRANSITIONS: dict[str, PackageTransition] = {
    # Blocked or expired packages go back through processing: a member sends them in; those
    # still on the center's shelf are taken back in by the center directly.
    PackageAction.COLLECT: _p({P.USED, P.EXPIRED, P.BLOCKED}, P.COLLECTED, {MEMBER}, "owner"),
    PackageAction.RECEIVE: _p({P.COLLECTED, P.EXPIRED, P.BLOCKED}, P.RECEIVED, {CENTER}, "center"),
    PackageAction.CLEAN: _p({P.RECEIVED}, P.CLEANED, {CENTER}, "center"),
    PackageAction.PACK: _p({P.CLEANED}, P.INSPECTED_PACKED, {CENTER}, "center"),
    PackageAction.STERILIZE: _p({P.INSPECTED_PACKED}, P.STERILIZED, {CENTER}, "center"),
    PackageAction.STORE: _p({P.STERILIZED}, P.STORED, {CENTER}, "center"),
    PackageAction.DISPATCH: _p({P.STORED}, P.DISPATCHED, {CENTER}, "owner"),
    PackageAction.RECEIVE_BY_MEMBER: _p({P.DISPATCHED}, P.RECEIVED_BY_MEMBER, {MEMBER}, "owner"),
    PackageAction.USE: _p({P.RECEIVED_BY_MEMBER}, P.USED, {MEMBER}, "owner"),
    PackageAction.EXPIRE: _p({P.STORED, P.RECEIVED_BY_MEMBER}, P.EXPIRED, {MEMBER, CENTER}, "stay"),
    BLOCK: _p(UNUSED_AFTER_STERILIZATION, P.BLOCKED, {CENTER}, "stay", scan=False),
}


def package_scan_sides(actor) -> set[str]:
    """The sides the actor acts for on some package: what a batch scan may offer before any
    barcode is read. Read from the profile alone (no query; the package page's count is
    pinned): member staff's scope always holds their own institution, and center staff act for
    the centers they are named at. Each package is still checked against its own sides."""
    if actor.is_active and actor.is_superuser:
        return {MEMBER, CENTER}
    profile = profile_of(actor)
    if profile is None:
        return set()
    return {side for side, roles in SCAN_ROLES.items() if profile.role in roles}


# Whose scope (member_scope_ids, center_ids_of) can hold a package, for each side.
SCAN_ROLES = {MEMBER: {Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF}, CENTER: {Role.CENTER_STAFF}}


def sides_resolver(actor) -> Callable[[Package], set[str]]:
    """The sides the actor acts for on a package, with the actor's scope looked up once."""
    if actor.is_active and actor.is_superuser:
        return lambda package: {MEMBER, CENTER}
    profile = profile_of(actor)
    if profile is None:
        return lambda package: set()
    members, centers = set(member_scope_ids(profile)), set(center_ids_of(profile))

    def sides(package: Package) -> set[str]:
        found = set()
        if package.owner_id in members:
            found.add(MEMBER)
        if package.instrument_set.center_id in centers:
            found.add(CENTER)
        return found

    return sides


def package_sides(actor, package: Package) -> set[str]:
    return sides_resolver(actor)(package)


def _package_event(package: Package, *, action, data, **fields) -> PackageEvent:
    # A package's event names no action: its two states say it.
    return PackageEvent(
        package=package, cycle_id=package.cycle_id, location_id=package.location_id, **fields
    )


PACKAGES = Machine(
    Package,
    PACKAGE_TRANSITIONS,
    sides=package_sides,
    event=_package_event,
    labels=lambda action: PackageAction(action).label if action != BLOCK else action,
    side_labels={MEMBER: gettext_lazy("member"), CENTER: gettext_lazy("center")},
)
PACKAGES.add_rules("sharedcenters.package")
# The steps a batch scan takes.
PACKAGE_MOVES = {action: t for action, t in PACKAGE_TRANSITIONS.items() if t.scan}


# --- supply requests (申领) ---------------------------------------------------------------------


def supply_request_sides(actor, request: SupplyRequest) -> set[str]:
    """MEMBER for the requesting institution's staff, CENTER for the center's (both for the
    superuser); the office reads requests but acts for neither side."""
    if actor.is_active and actor.is_superuser:
        return {MEMBER, CENTER}
    profile = profile_of(actor)
    if profile is None:
        return set()
    sides = set()
    if request.requesting_institution_id in member_scope_ids(profile):
        sides.add(MEMBER)
    if request.center_id in center_ids_of(profile):
        sides.add(CENTER)
    return sides


def lock_request(request: SupplyRequest) -> SupplyRequest:
    # `of=self`: the center row stays free for every other request of the center.
    return (
        SupplyRequest.objects.select_for_update(of=("self",))
        .select_related("center")
        .get(pk=request.pk)
    )


def _nothing_dispatched(request: SupplyRequest) -> bool:
    # Asked of an open request only; a request read `with_totals()` has the count already.
    if request.status != SupplyRequestStatus.SUBMITTED:
        return True
    sent = getattr(request, "dispatched", None)
    if sent is None:
        return not request.package_events.filter(to_status=P.DISPATCHED).exists()
    return sent == 0


def _why_not_cancel(request: SupplyRequest) -> str:
    return _("Packages have been dispatched against %(number)s; it cannot be cancelled.") % {
        "number": request.number
    }


CANCEL, FULFIL = "cancel", "fulfil"
R = SupplyRequestStatus
SUPPLY_REQUESTS = Machine(
    SupplyRequest,
    {
        CANCEL: transition(
            {R.SUBMITTED},
            R.CANCELLED,
            MEMBER,
            when=_nothing_dispatched,
            refusal=_why_not_cancel,
            forbidden=gettext_lazy("Only the requesting institution may cancel its request."),
        ),
        # Taken by the dispatch that sends the last package the request waits for.
        FULFIL: transition({R.SUBMITTED}, R.FULFILLED, CENTER),
    },
    sides=supply_request_sides,
    event=lambda request, **fields: SupplyRequestEvent(request=request, **fields),
    lock=lock_request,
    labels=str,
    illegal=gettext_lazy("Request %(number)s is %(status)s; it cannot be cancelled."),
    side_labels={MEMBER: gettext_lazy("member"), CENTER: gettext_lazy("center")},
)
SUPPLY_REQUESTS.add_rules("sharedcenters.supplyrequest")


# --- sterilization cycles ----------------------------------------------------------------------


def cycle_sides(actor, cycle: SterilizationCycle) -> set[str]:
    """CENTER for the staff of the cycle's center (and the superuser)."""
    if actor is None:
        return {SYSTEM}
    if actor.is_active and actor.is_superuser:
        return {CENTER}
    profile = profile_of(actor)
    return {CENTER} if profile is not None and cycle.center_id in center_ids_of(profile) else set()


def _results_pending(cycle: SterilizationCycle) -> bool:
    return cycle.biological_result == IndicatorResult.PENDING


def _not_recalled(cycle: SterilizationCycle) -> bool:
    return cycle.recalled_at is None


def _recall_target(cycle: SterilizationCycle) -> str:
    # A failed cycle is recalled as it fails, and stays "failed".
    return cycle.status if cycle.status == CycleStatus.FAILED else CycleStatus.RECALLED


C = CycleStatus
RELEASE, FAIL, RECORD, RECALL = "release", "fail", "record", "recall"
FINAL = gettext_lazy("The results of this cycle are already final.")
CYCLES = Machine(
    SterilizationCycle,
    {
        # Physical and chemical indicators passed: the packages may go to the shelf.
        RELEASE: transition({C.RUNNING}, C.RELEASED, CENTER, when=_results_pending, illegal=FINAL),
        # Any failed indicator, even after release, fails the cycle (and recalls it).
        FAIL: transition(
            {C.RUNNING, C.RELEASED}, C.FAILED, CENTER, when=_results_pending, illegal=FINAL
        ),
        # Results recorded that change nothing yet (the biological indicator follows).
        RECORD: transition(
            {C.RUNNING, C.RELEASED}, None, CENTER, when=_results_pending, illegal=FINAL
        ),
        RECALL: transition(
            {C.RUNNING, C.RELEASED, C.FAILED},
            _recall_target,
            CENTER,
            when=_not_recalled,
            illegal=gettext_lazy("This cycle has already been recalled."),
        ),
    },
    sides=cycle_sides,
    event=lambda cycle, **fields: CycleEvent(cycle=cycle, **fields),
    side_labels={CENTER: gettext_lazy("center")},
    labels=str,
)
CYCLES.add_rules("sharedcenters.sterilizationcycle")
