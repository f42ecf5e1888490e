"""Django admin of the platform's tables, and the read-only admin the apps' logs use."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import OutboxMessage, WorkerHeartbeat


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["hostname", "seen_at"]


class OutboxStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [("pending", _("pending")), ("sent", _("sent"))]

    def queryset(self, request, queryset):
        if self.value() in ("pending", "sent"):
            return queryset.filter(sent_at__isnull=self.value() == "pending")
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Side effects waiting for the broker (core.outbox): pending ones have no "sent at";
    the sweeper retries them every minute, `manage.py sweep_outbox` at once."""

    list_display = ["pk", "task", "args", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = [OutboxStatusFilter, "task"]
    search_fields = ["task"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
