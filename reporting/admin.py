"""Reporting in the admin: facts and jobs to look at; facts arrive only through imports."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import BedCapacity, InpatientStay, Job, OutpatientVisit, ReferralCount


class FactAdmin(ReadOnlyAdmin):
    list_select_related = ["institution"]
    show_full_result_count = False  # millions of rows: no second COUNT(*) per page
    search_fields = ["institution__code"]


@admin.register(OutpatientVisit)
class OutpatientVisitAdmin(FactAdmin):
    list_display = [
        "record_id",
        "institution",
        "visit_date",
        "visit_type",
        "department",
        "visit_count",
        "total_cost",
    ]
    list_filter = ["visit_type"]
    search_fields = ["=record_id", *FactAdmin.search_fields]


@admin.register(ReferralCount)
class ReferralCountAdmin(FactAdmin):
    list_display = ["institution", "month", "direction", "to_institution_code", "count"]
    list_filter = ["direction"]


@admin.register(InpatientStay)
class InpatientStayAdmin(FactAdmin):
    list_display = [
        "stay_id",
        "institution",
        "department",
        "admit_date",
        "discharge_date",
        "total_cost",
    ]
    search_fields = ["=stay_id", *FactAdmin.search_fields]


@admin.register(BedCapacity)
class BedCapacityAdmin(FactAdmin):
    list_display = ["institution", "effective_from", "open_beds"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "fact_kind",
        "year",
        "status",
        "file_name",
        "progress_done",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["kind", "status", "fact_kind"]
    list_select_related = ["requested_by"]
    date_hierarchy = "created_at"
