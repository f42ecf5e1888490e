"""Shared centers in the admin: centers, catalogs, slots and instrument sets are reference data;
orders, packages, cycles and supply requests are read-only records (changes go through the
services)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import (
    ExamOrder,
    ImagingSlot,
    InstrumentSet,
    OrderEvent,
    Package,
    ServiceItem,
    SharedCenter,
    SterilizationCycle,
    SupplyRequest,
    SupplyRequestLine,
)


class ServiceItemInline(admin.TabularInline):
    model = ServiceItem
    extra = 0
    fields = [
        "code",
        "name",
        "modality",
        "specimen_type",
        "tat_routine_hours",
        "tat_urgent_hours",
        "price",
        "mutual_recognition",
        "is_active",
    ]


@admin.register(SharedCenter)
class SharedCenterAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "institution", "alliance", "phone", "is_active"]
    list_filter = ["kind", "alliance", "is_active"]
    list_select_related = ["institution", "alliance"]
    filter_horizontal = ["staff"]
    inlines = [ServiceItemInline]


@admin.register(ImagingSlot)
class ImagingSlotAdmin(admin.ModelAdmin):
    list_display = ["starts_at", "modality", "center", "capacity", "priority_reserved"]
    list_filter = ["center", "modality"]
    date_hierarchy = "starts_at"


@admin.register(InstrumentSet)
class InstrumentSetAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "center", "method", "shelf_life_days"]
    list_filter = ["center", "method"]


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ["at", "action", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class SuperuserReadOnlyAdmin(ReadOnlyAdmin):
    """Patient-linked records: visible to superusers only, never editable here."""

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser


@admin.register(ExamOrder)
class ExamOrderAdmin(SuperuserReadOnlyAdmin):
    list_display = ["number", "status", "priority", "center", "ordering_institution", "ordered_at"]
    list_filter = ["status", "priority", "center", "critical"]
    search_fields = ["number"]
    list_select_related = ["center", "ordering_institution"]
    date_hierarchy = "ordered_at"
    exclude = ["patient"]
    inlines = [OrderEventInline]


@admin.register(SterilizationCycle)
class SterilizationCycleAdmin(SuperuserReadOnlyAdmin):
    list_display = ["cycle_number", "sterilizer", "method", "status", "started_at"]
    list_filter = ["center", "status", "method"]


@admin.register(Package)
class PackageAdmin(SuperuserReadOnlyAdmin):
    list_display = ["barcode", "instrument_set", "owner", "status", "location", "expires_on"]
    list_filter = ["status", "instrument_set"]
    search_fields = ["barcode"]
    list_select_related = ["instrument_set", "owner", "location"]
    exclude = ["used_for_patient"]


class SupplyRequestLineInline(admin.TabularInline):
    model = SupplyRequestLine
    extra = 0
    can_delete = False
    fields = ["instrument_set", "quantity"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SupplyRequest)
class SupplyRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "status",
        "requesting_institution",
        "center",
        "created_at",
        "needed_by",
    ]
    list_filter = ["status", "center"]
    search_fields = ["number"]
    list_select_related = ["requesting_institution", "center"]
    date_hierarchy = "created_at"
    inlines = [SupplyRequestLineInline]
