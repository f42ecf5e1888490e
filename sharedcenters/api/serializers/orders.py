"""Diagnostic orders: the order, its items, results, report versions, the bodies of its
actions and its events."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alliance.api.references import ReferenceField, ReferencesMixin
from alliance.api.serializers import PatientSummarySerializer
from alliance.models import Department, Patient
from referrals.models import Referral

from ...choices import OrderAction, OrderStatus, Priority, RejectionReason, ResultFlag
from ...models import (
    ExamOrder,
    ExamOrderItem,
    ImagingSlot,
    LabResult,
    OrderEvent,
    ReportVersion,
    ServiceItem,
    SharedCenter,
)
from ...services import allowed_actions
from .scopes import (
    DEPARTMENT_ELSEWHERE,
    actor_name,
    colleagues,
    items_of_center,
    own_departments,
    referrals_of_patient,
    slots_of_order,
)


class OrderItemSerializer(serializers.ModelSerializer):
    item = serializers.IntegerField(source="item_id", read_only=True)
    code = serializers.CharField(source="item.code", read_only=True)
    name = serializers.CharField(source="item.name", read_only=True)
    modality = serializers.CharField(source="item.modality", read_only=True)
    specimen_type = serializers.CharField(source="item.specimen_type", read_only=True)
    price = serializers.DecimalField(
        max_digits=10, decimal_places=2, read_only=True, help_text=_("As priced when ordered.")
    )

    class Meta:
        model = ExamOrderItem
        fields = ["item", "code", "name", "modality", "specimen_type", "price"]
        read_only_fields = fields


class LabResultSerializer(serializers.ModelSerializer):
    flag = serializers.ChoiceField(choices=ResultFlag.choices, allow_blank=True, read_only=True)

    class Meta:
        model = LabResult
        fields = ["analyte", "value", "unit", "reference_range", "flag"]
        read_only_fields = fields


class ExamOrderSerializer(serializers.ModelSerializer):
    patient = PatientSummarySerializer(read_only=True)
    rejection_reason = serializers.ChoiceField(
        choices=RejectionReason.choices, allow_blank=True, read_only=True
    )
    items = OrderItemSerializer(many=True, read_only=True)
    results = LabResultSerializer(many=True, read_only=True)

    class Meta:
        model = ExamOrder
        fields = [
            "id",
            "number",
            "status",
            "priority",
            "center",
            "patient",
            "ordering_institution",
            "ordering_department",
            "ordering_user",
            "referral",
            "priority_channel",
            "slot",
            "items",
            "clinical_info",
            "target_hours",
            "ordered_at",
            "collected_at",
            "received_at",
            "due_at",
            "started_at",
            "reported_at",
            "acknowledged_at",
            "cancelled_at",
            "rejection_reason",
            "status_note",
            "findings",
            "impression",
            "reported_by",
            "reviewed_by",
            "critical",
            "critical_note",
            "critical_acknowledged_at",
            "results",
        ]
        read_only_fields = fields


class ReportVersionSerializer(serializers.ModelSerializer):
    """A report as it was before an amendment, with who amended it, when and why."""

    reported_by = serializers.SerializerMethodField()
    reviewed_by = serializers.SerializerMethodField()
    amended_by = serializers.SerializerMethodField()
    amended_at = serializers.DateTimeField(source="superseded_at", read_only=True)
    results = LabResultSerializer(many=True, read_only=True)

    class Meta:
        model = ReportVersion
        fields = [
            "version",
            "reported_at",
            "reported_by",
            "reviewed_by",
            "results",
            "findings",
            "impression",
            "critical",
            "critical_note",
            "amended_at",
            "amended_by",
            "reason",
        ]
        read_only_fields = fields

    def get_reported_by(self, version: ReportVersion) -> str | None:
        return actor_name(version.reported_by)

    def get_reviewed_by(self, version: ReportVersion) -> str | None:
        return actor_name(version.reviewed_by)

    def get_amended_by(self, version: ReportVersion) -> str | None:
        return actor_name(version.superseded_by)


class ExamOrderDetailSerializer(ExamOrderSerializer):
    tat_hours = serializers.DecimalField(
        max_digits=8,
        decimal_places=1,
        read_only=True,
        allow_null=True,
        help_text=_("Ordered → reported, in hours."),
    )
    lab_tat_hours = serializers.DecimalField(
        max_digits=8,
        decimal_places=1,
        read_only=True,
        allow_null=True,
        help_text=_("Received at the center → reported, in hours."),
    )
    on_time = serializers.BooleanField(
        read_only=True, allow_null=True, help_text=_("Reported by the due time; null until then.")
    )
    critical_ack_minutes = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text=_("Minutes from a critical report to its acknowledgement."),
    )
    allowed_actions = serializers.SerializerMethodField(
        help_text=_("What the current user may do next.")
    )
    report_versions = serializers.SerializerMethodField(
        help_text=_("Earlier versions of an amended report, oldest first; empty if never amended.")
    )

    class Meta(ExamOrderSerializer.Meta):
        fields = [
            *ExamOrderSerializer.Meta.fields,
            "tat_hours",
            "lab_tat_hours",
            "on_time",
            "critical_ack_minutes",
            "allowed_actions",
            "report_versions",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=OrderAction.choices))
    )
    def get_allowed_actions(self, order: ExamOrder) -> list[str]:
        return [str(a) for a in allowed_actions(self.context["request"].user, order)]

    @extend_schema_field(ReportVersionSerializer(many=True))
    def get_report_versions(self, order: ExamOrder) -> list[dict]:
        versions = order.report_versions.select_related(
            "reported_by", "reviewed_by", "superseded_by"
        ).order_by("version")
        return ReportVersionSerializer(versions, many=True).data


class ExamOrderCreateSerializer(ReferencesMixin, serializers.Serializer):
    center = ReferenceField(queryset=SharedCenter.objects.all())
    patient = ReferenceField(queryset=Patient.objects.all())
    items = ReferenceField(
        queryset=ServiceItem.objects.all(),
        many=True,
        scope=items_of_center,
        message=_("Every item must be an active item of the chosen center."),
        help_text=_("Ids of the center's items."),
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.ROUTINE)
    clinical_info = serializers.CharField(required=False, allow_blank=True, default="")
    ordering_department = ReferenceField(
        queryset=Department.objects.all(),
        required=False,
        allow_null=True,
        scope=own_departments,
        message=DEPARTMENT_ELSEWHERE,
        help_text=_("Defaults to the user's own department."),
    )
    referral = ReferenceField(
        queryset=Referral.objects.all(),
        required=False,
        allow_null=True,
        scope=referrals_of_patient,
        message=_("The referral is not one of this patient's that you can see."),
        help_text=_("The patient's referral this order belongs to, if any."),
    )


class OrderNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


# The order is the serializer's `instance` (see alliance.api.references).
class OrderScheduleSerializer(ReferencesMixin, OrderNoteSerializer):
    slot = ReferenceField(
        queryset=ImagingSlot.objects.all(),
        scope=slots_of_order,
        message=_("Choose a slot of this center for the order's modality."),
    )


class OrderRejectSerializer(OrderNoteSerializer):
    reason = serializers.ChoiceField(choices=RejectionReason.choices)


class ResultInputSerializer(serializers.Serializer):
    analyte = serializers.CharField(max_length=80)
    value = serializers.CharField(max_length=40)
    unit = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    reference_range = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )
    flag = serializers.ChoiceField(
        choices=ResultFlag.choices,
        required=False,
        allow_blank=True,
        default=ResultFlag.NORMAL,
        help_text=_("Empty for a normal value; `critical` raises a critical-value alert."),
    )


# The order is the serializer's `instance` (see alliance.api.references).
class OrderReportSerializer(ReferencesMixin, serializers.Serializer):
    results = ResultInputSerializer(
        many=True, required=False, default=list, help_text=_("Required for a lab order.")
    )
    findings = serializers.CharField(required=False, allow_blank=True, default="")
    impression = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Required for an imaging or ECG order."),
    )
    critical = serializers.BooleanField(
        default=False, help_text=_("Set by the reporting doctor; a critical flag sets it too.")
    )
    critical_note = serializers.CharField(required=False, allow_blank=True, default="")
    reviewed_by = ReferenceField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
        scope=colleagues,
        message=_("Choose a colleague of this center."),
        help_text=_("A colleague of the same center who checked the report."),
    )


class OrderAmendSerializer(OrderReportSerializer):
    """The whole corrected report, and why: the report it replaces is kept as a version."""

    reason = serializers.CharField(
        help_text=_("Why the report is amended; kept with the earlier version."),
        error_messages={
            "required": _("Give the reason for amending the report."),
            "blank": _("Give the reason for amending the report."),
        },
    )


class OrderCancelSerializer(serializers.Serializer):
    reason = serializers.CharField()


class OrderEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    from_status = serializers.ChoiceField(
        choices=OrderStatus.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = OrderEvent
        fields = ["id", "action", "from_status", "to_status", "actor", "at", "note", "data"]
        read_only_fields = fields

    def get_actor(self, event: OrderEvent) -> str | None:
        return actor_name(event.actor)
