"""Referrals in the admin: read-only records (changes go through the services), editable limits."""

from django.contrib import admin

from alliance.admin import HistoryAdmin
from core.admin import ReadOnlyAdmin

from .models import (
    FollowUpTaskHistory,
    Referral,
    ReferralEvent,
    ResponseLimit,
    ResponseLimitHistory,
)


class ReferralEventInline(admin.TabularInline):
    model = ReferralEvent
    extra = 0
    can_delete = False
    fields = ["at", "action", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "status",
        "direction",
        "urgency",
        "from_institution",
        "to_institution",
        "submitted_at",
        "due_at",
    ]
    list_filter = ["status", "direction", "urgency", "service", "to_institution"]
    search_fields = ["number"]
    list_select_related = ["from_institution", "to_institution"]
    date_hierarchy = "created_at"
    exclude = ["patient", "idempotency_key"]
    inlines = [ReferralEventInline]

    def get_queryset(self, request):
        return super().get_queryset(request).restrict(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser


@admin.register(ResponseLimit)
class ResponseLimitAdmin(admin.ModelAdmin):
    list_display = ["urgency", "minutes", "expire_after_minutes"]


@admin.register(ResponseLimitHistory)
class ResponseLimitHistoryAdmin(HistoryAdmin):
    tracked_fields = ["urgency", "minutes", "expire_after_minutes"]


@admin.register(FollowUpTaskHistory)
class FollowUpTaskHistoryAdmin(HistoryAdmin):
    tracked_fields = ["referral", "institution", "kind", "due_on", "done_at", "done_by"]
    list_filter = ["pgh_label", "kind"]
