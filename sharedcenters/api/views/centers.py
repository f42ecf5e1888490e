"""The shared centers with their active catalog, and the imaging slots: reference data for
ordering."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from rest_framework import viewsets

from core.access import RestrictedViewSetMixin

from ...filters import ImagingSlotFilter
from ...models import ImagingSlot, ServiceItem, SharedCenter
from .. import serializers as s
from .base import VIEW_ORDERS


class SharedCenterViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The alliance's shared centers and their active catalog: reference data for ordering."""

    queryset = SharedCenter.objects.all()
    serializer_class = s.SharedCenterSerializer
    filterset_fields = ["kind", "alliance", "institution"]
    ordering_fields = ["kind", "name"]
    ordering = ["kind", "name", "id"]

    def get_queryset(self) -> QuerySet[SharedCenter]:
        # restrict() ORs in a join on the center's staff, which repeats a center once per staff
        # member; selecting by id keeps one row each.
        visible = super().get_queryset()
        items = ServiceItem.objects.filter(is_active=True).order_by("code")
        centers = visible.by_id().prefetch_related(
            Prefetch("items", queryset=items, to_attr="active_items")
        )
        # The list is what may be ordered from; a closed center still answers by id, for the
        # orders that name it.
        return centers.filter(is_active=True) if self.action == "list" else centers


class ImagingSlotViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Bookable times of the imaging and ECG centers with the places still free. Slots yet to
    begin only, unless `starts_after` is given."""

    queryset = ImagingSlot.objects.all()
    serializer_class = s.ImagingSlotSerializer
    filterset_class = ImagingSlotFilter
    ordering_fields = ["starts_at"]
    ordering = ["starts_at", "modality", "id"]
    action_permissions = {"list": VIEW_ORDERS, "retrieve": VIEW_ORDERS}

    def get_queryset(self) -> QuerySet[ImagingSlot]:
        # restrict() may join the center's staff; counting bookings over that join would count
        # each booking once per staff member, so the visible ids are a subquery instead.
        slots = super().get_queryset().by_id().with_bookings()
        if self.action == "list" and not self.request.query_params.get("starts_after"):
            slots = slots.filter(starts_at__gt=timezone.now())
        return slots
