"""Who sees which center rows: orders go to the orderer, the center and the alliance office;
a patient's results also reach every member that treats the patient (mutual recognition)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from alliance.choices import Role
from alliance.models import Institution, Membership, Patient
from alliance.visibility import visible_patients
from core.access import RestrictedQuerySet

if TYPE_CHECKING:
    from alliance.models import StaffProfile


def alliance_ids_of(profile: StaffProfile) -> list[int]:

    memberships = Membership.objects.active().filter(institution_id=profile.institution_id)
    return list(memberships.values_list("alliance_id", flat=True))


def center_ids_of(profile: StaffProfile) -> list[int]:
    """The centers a staff member works at (center staff are named on each center)."""
    if profile.role != Role.CENTER_STAFF:
        return []
    return center_ids_of_user(profile)


def center_ids_of_user(profile: StaffProfile) -> list[int]:
    from .models import SharedCenter  # late: .models imports this module

    return list(SharedCenter.objects.filter(staff=profile.user_id).values_list("pk", flat=True))


def _worked_at(profile: StaffProfile):
    """The same as a subquery: no extra round trip where one condition of several."""
    from .models import SharedCenter  # late: .models imports this module

    return SharedCenter.objects.filter(staff=profile.user_id).values("pk")


def member_scope_ids(profile: StaffProfile) -> list[int]:
    """Institutions a clinical user orders for: their own and those under it."""
    if profile.role not in (Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF):
        return []
    return list(Institution.objects.subtree_of(profile.institution_id).values_list("pk", flat=True))


class SharedCenterQuerySet(RestrictedQuerySet):
    def visible_to(self, profile: StaffProfile) -> SharedCenterQuerySet:
        """Centers of the user's alliances, and the ones they work at: reference data."""
        # Ids, not a join on the staff table: a join repeats a center once per staff member.
        return self.filter(
            Q(alliance_id__in=alliance_ids_of(profile)) | Q(pk__in=_worked_at(profile))
        )


class ExamOrderQuerySet(RestrictedQuerySet):
    # A member's visibility as disjoint conditions whose union is the visible rows (each one an
    # index walk of its own): what CappedPaginator counts, branch by branch. Kept through
    # filters and clones, like the restriction; dropped where querysets are combined.
    _count_parts: tuple[Q, ...] | None = None

    def _clone(self):
        clone = super()._clone()
        clone._count_parts = self._count_parts
        return clone

    def __or__(self, other):
        combined = super().__or__(other)
        combined._count_parts = None
        return combined

    def __xor__(self, other):
        combined = super().__xor__(other)
        combined._count_parts = None
        return combined

    def count_parts(self) -> tuple[Q, ...] | None:
        """Disjoint conditions that together hold every row of this queryset, or None."""
        return self._count_parts

    def visible_to(self, profile: StaffProfile) -> ExamOrderQuerySet:
        if profile.role == Role.CENTER_STAFF:
            return self.filter(center_id__in=center_ids_of(profile))
        if profile.role == Role.ALLIANCE_OFFICE:
            return self.filter(center__alliance_id__in=alliance_ids_of(profile))
        scope = member_scope_ids(profile)
        if not scope:
            return self.none()  # the health bureau: aggregates only
        # Mutual recognition: results of a patient the user treats, from the alliance's centers.
        # The patient conditions are on the order's patient column, each a hashed subquery: no
        # join through the patient table, so the newest orders come off the `order_newest`
        # index one by one and a page reads a few rows, not every order of the alliance. The
        # residents are those of the member's institutions (its patient scope: the same ids).
        from .models import SharedCenter  # late: .models imports this module

        own = Q(ordering_institution_id__in=scope)
        residents = Patient.objects.filter(home_institution_id__in=scope)
        resident = Q(patient_id__in=residents.values("pk"))
        granted = visible_patients(profile, "patient_id")
        alliance_centers = SharedCenter.objects.filter(alliance_id__in=alliance_ids_of(profile))
        at_alliance = Q(center_id__in=alliance_centers.values("pk")) & ~Q(status="cancelled")
        queryset = self.filter(own | ((resident | granted) & at_alliance))
        queryset._count_parts = (
            own,
            ~own & resident & at_alliance,
            ~own & ~resident & granted & at_alliance,
        )
        return queryset


class ImagingSlotQuerySet(RestrictedQuerySet):
    def visible_to(self, profile: StaffProfile) -> ImagingSlotQuerySet:
        if profile.role == Role.BUREAU_VIEWER:
            return self.none()
        return self.filter(
            Q(center__alliance_id__in=alliance_ids_of(profile))
            | Q(center_id__in=_worked_at(profile))
        )

    def with_bookings(self) -> ImagingSlotQuerySet:
        """Places taken, counted from the orders booked into each slot (never stored)."""
        booked = ~Q(orders__status="cancelled") & Q(orders__isnull=False)
        return self.annotate(
            booked=Count("orders", filter=booked),
            booked_priority=Count("orders", filter=booked & Q(orders__priority_channel=True)),
        )


class PackageQuerySet(RestrictedQuerySet):
    def visible_to(self, profile: StaffProfile) -> PackageQuerySet:
        if profile.role == Role.CENTER_STAFF:
            return self.filter(instrument_set__center_id__in=center_ids_of(profile))
        if profile.role == Role.ALLIANCE_OFFICE:
            return self.filter(instrument_set__center__alliance_id__in=alliance_ids_of(profile))
        return self.filter(owner_id__in=member_scope_ids(profile))


class SterilizationCycleQuerySet(RestrictedQuerySet):
    def visible_to(self, profile: StaffProfile) -> SterilizationCycleQuerySet:
        if profile.role == Role.CENTER_STAFF:
            return self.filter(center_id__in=center_ids_of(profile))
        if profile.role == Role.ALLIANCE_OFFICE:
            return self.filter(center__alliance_id__in=alliance_ids_of(profile))
        if profile.role == Role.BUREAU_VIEWER:
            return self.none()
        # Members see every cycle their packages went through (a recall concerns them), also
        # after a package has been reprocessed in a later one.
        from .models import PackageEvent  # late: .models imports this module

        loads = PackageEvent.objects.filter(
            package__owner_id__in=member_scope_ids(profile), to_status="sterilized"
        )
        return self.filter(pk__in=loads.values("cycle_id"))


class SupplyRequestQuerySet(RestrictedQuerySet):
    def visible_to(self, profile: StaffProfile) -> SupplyRequestQuerySet:
        """The requesting institution (and those over it), the center, the alliance office."""
        if profile.role == Role.CENTER_STAFF:
            return self.filter(center_id__in=center_ids_of(profile))
        if profile.role == Role.ALLIANCE_OFFICE:
            return self.filter(center__alliance_id__in=alliance_ids_of(profile))
        scope = member_scope_ids(profile)
        if not scope:
            return self.none()  # the health bureau
        return self.filter(requesting_institution_id__in=scope)

    def open(self) -> SupplyRequestQuerySet:
        return self.filter(status="submitted")

    def with_totals(self) -> SupplyRequestQuerySet:
        """`requested` and `dispatched` packages of each request, as subqueries: a join over
        both the lines and the events would multiply one by the other."""
        from .models import PackageEvent, SupplyRequestLine  # late: .models imports this module

        requested = (
            SupplyRequestLine.objects.filter(request_id=OuterRef("pk"))
            .order_by()
            .values("request_id")
            .annotate(total=Sum("quantity"))
            .values("total")
        )
        dispatched = (
            PackageEvent.objects.filter(supply_request_id=OuterRef("pk"), to_status="dispatched")
            .order_by()
            .values("supply_request_id")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return self.annotate(
            requested=Coalesce(Subquery(requested, output_field=IntegerField()), Value(0)),
            dispatched=Coalesce(Subquery(dispatched, output_field=IntegerField()), Value(0)),
        )


class SupplyRequestLineQuerySet(QuerySet):
    def with_dispatched(self) -> SupplyRequestLineQuerySet:
        """`dispatched`: packages of the line's set sent out against its request (each dispatch
        event counts, so a package sent, used, reprocessed and sent again counts twice)."""
        from .models import PackageEvent  # late: .models imports this module

        sent = (
            PackageEvent.objects.filter(
                supply_request_id=OuterRef("request_id"),
                package__instrument_set_id=OuterRef("instrument_set_id"),
                to_status="dispatched",
            )
            .order_by()
            .values("supply_request_id")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return self.annotate(
            dispatched=Coalesce(Subquery(sent, output_field=IntegerField()), Value(0))
        )


def ordered_patients(profile: StaffProfile, field: str = "pk") -> Q:
    """Center staff see the patients of the orders their center works on (`field`: the
    patient's pk, or a patient column: alliance.visibility)."""
    from .models import ExamOrder  # late: .models imports this module

    centers = center_ids_of(profile)
    if not centers:
        return Q(pk__in=[])
    orders = ExamOrder.objects.filter(center_id__in=centers)
    return Q(**{f"{field}__in": orders.values("patient_id")})
