"""Reads shared by the pages, the API and the tasks of the shared centers."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from alliance.choices import Role
from alliance.models import Institution, Membership, Patient, StaffProfile
from core import audit
from core.access import profile_of, restricted, row_for_user
from referrals.models import Referral

from .choices import (
    DIAGNOSTIC_KINDS,
    OPEN_ORDER_STATUSES,
    CenterKind,
    CycleStatus,
    OrderStatus,
    PackageStatus,
    SupplyRequestStatus,
)
from .models import (
    ExamOrder,
    ImagingSlot,
    Package,
    PackageEvent,
    SharedCenter,
    SterilizationCycle,
    SupplyRequest,
    SupplyRequestLine,
)
from .querysets import center_ids_of

LIST_RELATED = ("center", "patient", "ordering_institution", "ordering_department", "slot")


def sterilization_centers(user) -> QuerySet[SharedCenter]:
    """The sterilization centers the user works at (every one for the superuser)."""
    centers = SharedCenter.objects.filter(kind=CenterKind.STERILIZATION, is_active=True)
    if user.is_superuser and user.is_active:
        return centers
    profile = profile_of(user)
    return centers.filter(pk__in=center_ids_of(profile) if profile is not None else [])


def diagnostic_centers(user) -> QuerySet[SharedCenter]:
    """The active laboratory, imaging and ECG centers the user sees: where an order may go."""
    return SharedCenter.objects.restrict(user).filter(kind__in=DIAGNOSTIC_KINDS, is_active=True)


def bookable_centers(user) -> QuerySet[SharedCenter]:
    """The active imaging and ECG centers the user sees: the ones with a slot board."""
    return SharedCenter.objects.restrict(user).filter(
        kind__in=[CenterKind.IMAGING, CenterKind.ECG], is_active=True
    )


def dashboard_centers(user) -> QuerySet[SharedCenter]:
    """The diagnostic centers the user sees, active or not: the dashboard's figures."""
    return SharedCenter.objects.restrict(user).filter(kind__in=DIAGNOSTIC_KINDS)


def alliance_members_of(centers: QuerySet[SharedCenter]) -> QuerySet[Institution]:
    """The institutions packages of these centers may belong to: their alliances' members."""
    members = Membership.objects.active().filter(alliance_id__in=centers.values("alliance_id"))
    return Institution.objects.within(members.values("institution_id")).active().in_tree_order()


def request_centers(user) -> QuerySet[SharedCenter]:
    """The sterilization centers a member may request packages from (the page's choices and
    what the API accepts)."""
    visible = SharedCenter.objects.restrict(user).values("pk")
    return SharedCenter.objects.filter(
        pk__in=visible, kind=CenterKind.STERILIZATION, is_active=True
    ).order_by("name")


def visible_orders(user) -> QuerySet[ExamOrder]:
    """The orders the user sees, as rows to count (the dashboard's figures): no joins."""
    return ExamOrder.objects.restrict(user)


def orders_for(user) -> QuerySet[ExamOrder]:
    return ExamOrder.objects.restrict(user).select_related(*LIST_RELATED)


class AtLeast(int):
    """A page count that is a floor: shown as "200+"."""

    def __str__(self) -> str:
        return f"{int(self)}+"


class CappedPaginator(Paginator):
    """The order list's pages, counted up to `cap` rows: a member sees a patient's orders
    through an OR of visibility conditions (their own institutions', and mutual recognition
    over the PatientAccess table), which no index answers, so an exact COUNT(*) reads every
    order of the alliance (180 ms over 500,000 at the bench's scale 1). The first `cap`
    visible rows are found after a fraction of that; beyond them the pager reads "1 / 200+"
    and the filters (dates, status, center) narrow the list down."""

    cap = 5_000

    @cached_property
    def count(self) -> int:
        rows = self.object_list.order_by()
        parts = rows.count_parts() if hasattr(rows, "count_parts") else None
        # SQLite (make run) takes no LIMIT inside a UNION's parts: it counts the plain way.
        if parts and connections[rows.db].features.supports_slicing_ordering_in_compound:
            # A member's rows branch by branch (their own institutions' orders, then their
            # residents', then those granted), each off its own index, in one query: the
            # first branches often fill the cap, and the later ones are then never read.
            limited = [rows.filter(part).values("pk")[: self.cap + 1] for part in parts]
            rows = limited[0].union(*limited[1:], all=True)
        else:
            rows = rows.values("pk")
        counted = rows[: self.cap + 1].count()
        self.more = counted > self.cap
        return min(counted, self.cap)

    @cached_property
    def num_pages(self) -> int:
        pages = Paginator.num_pages.func(self)
        return AtLeast(pages) if self.count and self.more else pages


def order_for_user(user, pk, *, for_update: bool = False) -> ExamOrder:
    """Fetch and authorise together: an order the user may not see does not exist (404); in
    the access log if the response shows it."""
    orders = orders_for(user).select_related(
        "reported_by",
        "reviewed_by",
        "referral",
        "ordering_user",
        "critical_acknowledged_by",
        "center__alliance",
        "center__institution",
    )
    return row_for_user(orders, user, pk, for_update=for_update)


def package_for_user(user, pk, *, for_update: bool = False) -> Package:
    packages = Package.objects.select_related(
        "instrument_set__center", "owner", "location", "cycle", "used_for_patient"
    )
    return row_for_user(packages, user, pk, for_update=for_update)


def cycle_for_user(user, pk, *, for_update: bool = False) -> SterilizationCycle:
    cycles = SterilizationCycle.objects.select_related("center", "operator", "recalled_by")
    return row_for_user(cycles, user, pk, for_update=for_update)


REQUEST_LINES = Prefetch(
    "lines", queryset=SupplyRequestLine.objects.with_dispatched().select_related("instrument_set")
)


def for_display(requests: QuerySet[SupplyRequest]) -> QuerySet[SupplyRequest]:
    """With their totals and lines (dispatched counted per line): a fixed number of queries."""
    return (
        requests.with_totals()
        .select_related("center", "requesting_institution", "department", "requested_by")
        .prefetch_related(REQUEST_LINES)
    )


def supply_requests_for(user) -> QuerySet[SupplyRequest]:
    return for_display(SupplyRequest.objects.restrict(user))


def supply_request_for_user(user, pk, *, for_update: bool = False) -> SupplyRequest:
    """Fetch and authorise together: a request the user may not see does not exist (404)."""
    requests = supply_requests_for(user).select_related("cancelled_by")
    return row_for_user(requests, user, pk, for_update=for_update)


def referrals_to_cite(user, patient_id) -> QuerySet[Referral]:
    """The patient's referrals the user sees, newest first: the ones a new order may cite."""
    return (
        Referral.objects.restrict(user)
        .filter(patient_id=patient_id)
        .select_related("to_institution")
        .order_by("-created_at")
    )


def center_worklist(user, center_id: int | None = None) -> QuerySet[ExamOrder]:
    """Open orders of the user's centers: urgent first, then the oldest."""
    orders = orders_for(user).filter(status__in=OPEN_ORDER_STATUSES)
    if center_id is not None:
        orders = orders.filter(center_id=center_id)
    return orders.order_by("-priority", "ordered_at", "pk")


def unacknowledged_critical(user, orders: QuerySet[ExamOrder] | None = None) -> QuerySet[ExamOrder]:
    """Critical values not yet acknowledged; of `orders` (the user's, as a page lists them:
    their visibility worked out once for both) or of every order the user sees."""
    orders = orders_for(user) if orders is None else restricted(orders, user)
    return orders.filter(critical=True, critical_acknowledged_at__isnull=True)


# --- who hears about it ---------------------------------------------------------------------


def ordering_staff(order: ExamOrder):
    """The ordering doctor and the ordering department's staff (or the whole institution's)."""
    User = get_user_model()
    profiles = StaffProfile.objects.filter(
        institution_id=order.ordering_institution_id,
        role__in=[Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF],
        user__is_active=True,
    )
    if order.ordering_department_id is not None:
        profiles = profiles.filter(
            Q(department_id=order.ordering_department_id) | Q(department__isnull=True)
        )
    return User.objects.filter(
        Q(pk=order.ordering_user_id, is_active=True) | Q(staff_profile__in=profiles)
    ).distinct()


def office_staff(order: ExamOrder):
    User = get_user_model()
    members = Institution.objects.in_alliance(order.center.alliance_id).values("pk")
    return User.objects.filter(
        is_active=True,
        staff_profile__role=Role.ALLIANCE_OFFICE,
        staff_profile__institution__in=members,
    )


def on_duty_phone(order: ExamOrder) -> str:
    """The ordering department's on-duty line, else the institution's first one."""
    if order.ordering_department and order.ordering_department.on_duty_phone:
        return order.ordering_department.on_duty_phone
    department = (
        order.ordering_institution.departments.filter(is_active=True)
        .exclude(on_duty_phone="")
        .order_by("pk")
        .first()
    )
    return department.on_duty_phone if department else ""


# --- sterilization ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RecallLine:
    package: Package
    uses: list[PackageEvent]  # uses after this cycle: the patients to follow up


def running_cycles(user) -> QuerySet[SterilizationCycle]:
    """The running cycles the user sees: where a package may be loaded."""
    return (
        SterilizationCycle.objects.restrict(user)
        .filter(status=CycleStatus.RUNNING)
        .select_related("center")
    )


def visible_package_ids(user, ids: Iterable[int]) -> set[int]:
    """Of these packages, the ones the user sees (a member: its own; the center: all)."""
    return set(Package.objects.restrict(user).filter(pk__in=list(ids)).values_list("pk", flat=True))


def recall_report(cycle: SterilizationCycle) -> list[RecallLine]:
    """Every package sterilized in the cycle, where it is now, and whom it was used on since."""
    packages = (
        Package.objects.filter(events__cycle=cycle, events__to_status=PackageStatus.STERILIZED)
        .select_related("instrument_set", "owner", "location")
        .distinct()
        .order_by("barcode")
    )
    uses: dict[int, list[PackageEvent]] = {}
    for event in (
        PackageEvent.objects.filter(cycle=cycle, to_status=PackageStatus.USED)
        .select_related("patient", "location")
        .order_by("at")
    ):
        uses.setdefault(event.package_id, []).append(event)
    return [RecallLine(package, uses.get(package.pk, [])) for package in packages]


def recall_recipients(owner_ids: set[int], members):
    """Clinical staff of the institutions holding packages, and the alliance office."""
    User = get_user_model()
    return User.objects.filter(
        Q(
            staff_profile__institution_id__in=owner_ids,
            staff_profile__role__in=[Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF],
        )
        | Q(
            staff_profile__role=Role.ALLIANCE_OFFICE,
            staff_profile__institution__in=members.values("pk"),
        ),
        is_active=True,
    ).distinct()


# --- slots and the green channel -------------------------------------------------------------


def slots_on(user, center: SharedCenter, start, end) -> QuerySet[ImagingSlot]:
    """A center's slots the user sees starting in [start, end), with their bookings counted:
    the slot board's day."""
    return (
        ImagingSlot.objects.restrict(user)
        .filter(center=center, starts_at__gte=start, starts_at__lt=end)
        .with_bookings()
        .order_by("starts_at", "modality")
    )


def free_places(slot: ImagingSlot) -> tuple[int, int]:
    """(free to anyone, free only to the green channel) of a slot with `booked` and
    `booked_priority` (ImagingSlotQuerySet.with_bookings(), or counted under lock).

    The green channel's rule, stated once: green-channel bookings fill the reserved places
    first, then ordinary ones; ordinary bookings only ever use ordinary places."""
    free_total = max(slot.capacity - slot.booked, 0)
    ordinary_taken = slot.booked - slot.booked_priority
    free_ordinary = min(free_total, max(slot.ordinary_capacity - ordinary_taken, 0))
    return free_ordinary, free_total - free_ordinary


def places_for(slot: ImagingSlot, priority_channel: bool) -> int:
    """The places a booking of this channel may still take."""
    ordinary, reserved = free_places(slot)
    return ordinary + reserved if priority_channel else ordinary


def with_places(slots: QuerySet[ImagingSlot], *, priority_channel: bool) -> QuerySet[ImagingSlot]:
    """The slots where `places_for()` is above zero, in SQL (the same rule)."""
    slots = slots.with_bookings().filter(booked__lt=F("capacity"))
    if not priority_channel:
        slots = slots.filter(
            booked__lt=F("booked_priority") + F("capacity") - F("priority_reserved")
        )
    return slots


def order_modality(order: ExamOrder) -> str | None:
    return order.items.values_list("item__modality", flat=True).first()


def bookable_slots(user, order: ExamOrder) -> QuerySet[ImagingSlot]:
    """The slots the user may name for the order: visible to them, of its center and modality,
    not yet begun. Whether a place is still free is the service's count, under lock."""
    return ImagingSlot.objects.restrict(user).filter(
        center_id=order.center_id, modality=order_modality(order), starts_at__gt=timezone.now()
    )


def center_colleagues(center: SharedCenter):
    """Who may be named as the reviewer of a center's report: its active staff."""
    return center.staff.filter(is_active=True)


# --- patients named on package pages ---------------------------------------------------------


def visible_patient_ids(user, ids) -> set[int]:
    """Of these patients, the ones the user may see by name (others show as hidden); the page
    names them, so they are in the access log."""
    return set(visible_patient_names(user, ids))


def visible_patient_names(user, patient_ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the patients among `patient_ids` that the user may see, in one query (none when
    no id is given): what a page of packages or events shows, instead of one look-up a row."""
    ids = {pk for pk in patient_ids if pk is not None}
    if not ids:
        return {}
    names = dict(Patient.objects.restrict(user).filter(pk__in=ids).values_list("pk", "name"))
    audit.shown_patients(names)  # the answer names them: in the access log
    return names


# --- the home page (alliance.panels.HomePanel, registered in apps.py) -------------------------


def worklist_counts(user) -> dict[str, int]:
    """The center worklist's open orders by state (`/centers/worklist/` tabs), one query."""
    rows = center_worklist(user).order_by().values("status").annotate(n=Count("*"))
    return dict(rows.values_list("status", "n"))


def worklist_overdue(user) -> QuerySet[ExamOrder]:
    """Open orders of the user's centers past their turnaround target (`due_at`)."""
    return center_worklist(user).filter(due_at__lt=timezone.now())


def critical_past_escalation(user) -> QuerySet[ExamOrder]:
    """Critical values unacknowledged longer than settings.CRITICAL_VALUE_ACK_MINUTES."""
    since = timezone.now() - datetime.timedelta(minutes=settings.CRITICAL_VALUE_ACK_MINUTES)
    return unacknowledged_critical(user).filter(reported_at__lte=since)


def escalated_critical(user) -> QuerySet[ExamOrder]:
    """Critical values escalated to the office and still unacknowledged."""
    return unacknowledged_critical(user).filter(critical_escalated_at__isnull=False)


def results_to_acknowledge(user) -> dict[str, int]:
    """Reports on the user's side's orders not yet acknowledged, and of them the critical
    values, one query (the order list's `status=reported` and `critical=open`)."""
    return (
        orders_for(user)
        .filter(status=OrderStatus.REPORTED)
        .aggregate(
            reported=Count("pk"),
            critical=Count("pk", filter=Q(critical=True, critical_acknowledged_at__isnull=True)),
        )
    )


def sterilization_counts(user) -> dict[str, int]:
    """Running cycles the user sees and supply requests waiting, one query each."""
    return {
        "running": running_cycles(user).count(),
        "requests": supply_requests_for(user).filter(status=SupplyRequestStatus.SUBMITTED).count(),
    }


def worked_center_kinds(user) -> set[str]:
    """The kinds of the centers the user works at (a laboratory, imaging, sterilization...)."""
    return set(SharedCenter.objects.filter(staff=user.pk).values_list("kind", flat=True))
