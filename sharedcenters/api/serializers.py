from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alliance.api.references import ReferenceField, ReferencesMixin, Refs
from alliance.api.serializers import PatientSummarySerializer
from alliance.models import Department, Institution, Patient
from referrals.models import Referral

from .. import selectors
from ..choices import (
    CenterKind,
    IndicatorResult,
    Modality,
    OrderAction,
    OrderStatus,
    PackageAction,
    PackageStatus,
    Priority,
    RejectionReason,
    ResultFlag,
    SpecimenType,
    SterilizationMethod,
)
from ..models import (
    MAX_REQUEST_QUANTITY,
    ExamOrder,
    ExamOrderItem,
    ImagingSlot,
    InstrumentSet,
    LabResult,
    OrderEvent,
    Package,
    PackageEvent,
    ReportVersion,
    ServiceItem,
    SharedCenter,
    SterilizationCycle,
    SupplyRequest,
    SupplyRequestLine,
)
from ..services import PACKAGE_MOVES

# --- what a body may name (alliance.api.references): rows the user may see, and the scope ----


def _own_departments(refs: Refs):
    """Departments of the user's own institution (what the services check too)."""
    profile = refs.profile
    return None if profile is None else Department.objects.filter(institution=profile.institution)


def _items_of_center(refs: Refs):
    center = refs.get("center")
    return None if center is None else ServiceItem.objects.filter(center=center, is_active=True)


def _referrals_of_patient(refs: Refs):
    patient = refs.get("patient")
    return None if patient is None else Referral.objects.filter(patient=patient)


def _slots_of_order(refs: Refs):
    """The slots of the order's own imaging center. An order of a center without slots (a lab,
    ECG) is never scheduled at all: the service says so (409), whatever slot the body names."""
    order = refs.instance
    if order is None or order.center.kind != CenterKind.IMAGING:
        return None
    return selectors.bookable_slots(refs.user, order)


def _colleagues(refs: Refs):
    if refs.instance is None:
        return None
    return selectors.center_colleagues(refs.instance.center)


def _package_owners(refs: Refs):
    """Members of the alliances of the sterilization centers the user works at: what the
    page's register form offers (the service checks the chosen set's own alliance)."""
    from ..selectors import alliance_members_of, sterilization_centers

    centers = sterilization_centers(refs.user)
    # Who works at none registers nothing: the service refuses the action itself (403).
    return alliance_members_of(centers) if centers.exists() else None


def _request_centers(refs: Refs):
    from ..selectors import request_centers

    return request_centers(refs.user)


def _sets_of_center(refs: Refs):
    center = refs.attrs.get("center")
    return None if center is None else InstrumentSet.objects.filter(center=center)


DEPARTMENT_ELSEWHERE = _("The department belongs to another institution.")


def _actor_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


# --- centers and catalog ---------------------------------------------------------------------


# Read-only choices of blank columns answer "": declared, because DRF drops `allow_blank` from a
# read-only model field and the schema's enum would then leave "" out.
class ServiceItemSerializer(serializers.ModelSerializer):
    modality = serializers.ChoiceField(choices=Modality.choices, allow_blank=True, read_only=True)
    specimen_type = serializers.ChoiceField(
        choices=SpecimenType.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = ServiceItem
        fields = [
            "id",
            "code",
            "name",
            "modality",
            "specimen_type",
            "tat_routine_hours",
            "tat_urgent_hours",
            "price",
            "mutual_recognition",
        ]
        read_only_fields = fields


class SharedCenterSerializer(serializers.ModelSerializer):
    items = ServiceItemSerializer(
        source="active_items", many=True, read_only=True, help_text=_("Active catalog items.")
    )

    class Meta:
        model = SharedCenter
        fields = [
            "id",
            "name",
            "kind",
            "institution",
            "alliance",
            "phone",
            "on_duty_phone",
            "priority_share_percent",
            "is_active",
            "items",
        ]
        read_only_fields = fields


# --- orders ----------------------------------------------------------------------------------


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
        return _actor_name(version.reported_by)

    def get_reviewed_by(self, version: ReportVersion) -> str | None:
        return _actor_name(version.reviewed_by)

    def get_amended_by(self, version: ReportVersion) -> str | None:
        return _actor_name(version.superseded_by)


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
        from ..services import allowed_actions

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
        scope=_items_of_center,
        message=_("Every item must be an active item of the chosen center."),
        help_text=_("Ids of the center's items."),
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.ROUTINE)
    clinical_info = serializers.CharField(required=False, allow_blank=True, default="")
    ordering_department = ReferenceField(
        queryset=Department.objects.all(),
        required=False,
        allow_null=True,
        scope=_own_departments,
        message=DEPARTMENT_ELSEWHERE,
        help_text=_("Defaults to the user's own department."),
    )
    referral = ReferenceField(
        queryset=Referral.objects.all(),
        required=False,
        allow_null=True,
        scope=_referrals_of_patient,
        message=_("The referral is not one of this patient's that you can see."),
        help_text=_("The patient's referral this order belongs to, if any."),
    )


class OrderNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


# The order is the serializer's `instance` (see alliance.api.references).
class OrderScheduleSerializer(ReferencesMixin, OrderNoteSerializer):
    slot = ReferenceField(
        queryset=ImagingSlot.objects.all(),
        scope=_slots_of_order,
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
        scope=_colleagues,
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
        return _actor_name(event.actor)


# --- imaging slots ---------------------------------------------------------------------------


class ImagingSlotSerializer(serializers.ModelSerializer):
    booked = serializers.IntegerField(read_only=True, help_text=_("Places taken."))
    booked_priority = serializers.IntegerField(
        read_only=True, help_text=_("Places taken by green-channel patients.")
    )
    available_ordinary = serializers.SerializerMethodField(
        help_text=_("Places an ordinary patient may still book.")
    )
    available_priority = serializers.SerializerMethodField(
        help_text=_("Places a green-channel patient may still book (any free place).")
    )

    class Meta:
        model = ImagingSlot
        fields = [
            "id",
            "center",
            "modality",
            "starts_at",
            "ends_at",
            "capacity",
            "priority_reserved",
            "booked",
            "booked_priority",
            "available_ordinary",
            "available_priority",
        ]
        read_only_fields = fields

    # The green channel's rule (selectors.free_places): the reserve only limits ordinary patients.
    def get_available_ordinary(self, slot: ImagingSlot) -> int:
        return selectors.places_for(slot, priority_channel=False)

    def get_available_priority(self, slot: ImagingSlot) -> int:
        return selectors.places_for(slot, priority_channel=True)


# --- sterilization ---------------------------------------------------------------------------


class PatientRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class NamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()


def _patient_ref(context: dict, patient_id: int | None) -> dict | None:
    """`{id, name}` when the user may see the patient; the view looks the names up in one query
    a page and passes them as `context["patients"]`."""
    if patient_id is None:
        return None
    name = context.get("patients", {}).get(patient_id)
    return None if name is None else {"id": patient_id, "name": name}


class PackageSerializer(serializers.ModelSerializer):
    instrument_set_name = serializers.CharField(source="instrument_set.name", read_only=True)
    patient = serializers.SerializerMethodField(
        help_text=_("Whom it was last used for; null when not used or not visible to you.")
    )

    class Meta:
        model = Package
        fields = [
            "id",
            "barcode",
            "instrument_set",
            "instrument_set_name",
            "owner",
            "location",
            "status",
            "cycle",
            "sterilized_at",
            "expires_on",
            "used_at",
            "patient",
            "procedure",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PatientRefSerializer(allow_null=True))
    def get_patient(self, package: Package) -> dict | None:
        return _patient_ref(self.context, package.used_for_patient_id)


class PackageRegisterSerializer(ReferencesMixin, serializers.Serializer):
    # Another center's set is refused by the service: only its staff register packages (403).
    instrument_set = ReferenceField(queryset=InstrumentSet.objects.all())
    owner = ReferenceField(
        queryset=Institution.objects.all(),
        scope=_package_owners,
        message=_("The institution is not a member of the alliance."),
        help_text=_("The member institution the package belongs to."),
    )
    barcode = serializers.CharField(max_length=40)


# Every step but `register`, which is not a move of an existing package (POST to the list).
MOVE_CHOICES = [(action, PackageAction(action).label) for action in PACKAGE_MOVES]


class PackageMoveSerializer(ReferencesMixin, serializers.Serializer):
    barcodes = serializers.ListField(
        child=serializers.CharField(max_length=40, allow_blank=True),
        help_text=_("Every scanned barcode; all move or none does."),
    )
    action = serializers.ChoiceField(choices=MOVE_CHOICES)
    cycle = ReferenceField(
        queryset=SterilizationCycle.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("The running cycle, for `sterilize`."),
    )
    patient = ReferenceField(
        queryset=Patient.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("Whom the package was used for, for `use`."),
    )
    procedure = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    supply_request = ReferenceField(
        queryset=SupplyRequest.objects.all(),
        required=False,
        allow_null=True,
        help_text=_(
            "For `dispatch`: the member's open supply request these packages serve. Each package "
            "must be the requester's, of a set on the request, and not beyond what it still "
            "waits for; the request is fulfilled by the dispatch that completes it."
        ),
    )


class PackageMoveResultSerializer(serializers.Serializer):
    moved = serializers.IntegerField()
    packages = PackageSerializer(many=True)


class PackageEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    from_status = serializers.ChoiceField(
        choices=PackageStatus.choices, allow_blank=True, read_only=True
    )
    patient = serializers.SerializerMethodField(help_text=_("Null when not visible to you."))

    class Meta:
        model = PackageEvent
        fields = [
            "id",
            "from_status",
            "to_status",
            "cycle",
            "location",
            "actor",
            "at",
            "note",
            "patient",
            "procedure",
        ]
        read_only_fields = fields

    def get_actor(self, event: PackageEvent) -> str | None:
        return _actor_name(event.actor)

    @extend_schema_field(PatientRefSerializer(allow_null=True))
    def get_patient(self, event: PackageEvent) -> dict | None:
        return _patient_ref(self.context, event.patient_id)


class SterilizationCycleSerializer(serializers.ModelSerializer):
    class Meta:
        model = SterilizationCycle
        fields = [
            "id",
            "center",
            "sterilizer",
            "cycle_number",
            "method",
            "status",
            "started_at",
            "ended_at",
            "physical_result",
            "chemical_result",
            "biological_result",
            "operator",
            "recalled_at",
            "recalled_by",
            "recall_reason",
        ]
        read_only_fields = fields


class CycleStartSerializer(ReferencesMixin, serializers.Serializer):
    center = ReferenceField(queryset=SharedCenter.objects.all())
    sterilizer = serializers.CharField(max_length=40)
    cycle_number = serializers.CharField(max_length=40)
    method = serializers.ChoiceField(choices=SterilizationMethod.choices)
    started_at = serializers.DateTimeField(required=False, help_text=_("Defaults to now."))


class CycleRecallSerializer(serializers.Serializer):
    reason = serializers.CharField()


class CycleResultsSerializer(serializers.Serializer):
    physical = serializers.ChoiceField(choices=IndicatorResult.choices)
    chemical = serializers.ChoiceField(choices=IndicatorResult.choices)
    biological = serializers.ChoiceField(choices=IndicatorResult.choices)
    ended_at = serializers.DateTimeField(required=False, help_text=_("Defaults to now."))


class RecallUseSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    patient = PatientRefSerializer(allow_null=True, help_text=_("Null when not visible to you."))
    procedure = serializers.CharField()
    location = NamedRefSerializer()


class RecallLineSerializer(serializers.Serializer):
    package = serializers.IntegerField(source="package.pk")
    barcode = serializers.CharField(source="package.barcode")
    instrument_set = NamedRefSerializer(source="package.instrument_set")
    owner = NamedRefSerializer(source="package.owner")
    status = serializers.ChoiceField(source="package.status", choices=PackageStatus.choices)
    location = NamedRefSerializer(source="package.location")
    uses = serializers.SerializerMethodField(
        help_text=_("Uses since the cycle: the patients to follow up.")
    )

    @extend_schema_field(RecallUseSerializer(many=True))
    def get_uses(self, line) -> list[dict]:
        uses = [
            {
                "at": use.at,
                "patient": _patient_ref(self.context, use.patient_id),
                "procedure": use.procedure,
                "location": use.location,
            }
            for use in line.uses
        ]
        return RecallUseSerializer(uses, many=True).data


# --- supply requests -------------------------------------------------------------------------


class SupplyRequestLineSerializer(serializers.ModelSerializer):
    instrument_set_name = serializers.CharField(source="instrument_set.name", read_only=True)
    dispatched = serializers.IntegerField(
        read_only=True, help_text=_("Packages of the set dispatched against the request.")
    )
    remaining = serializers.IntegerField(
        read_only=True, help_text=_("Still to dispatch (0 once the line is complete).")
    )

    class Meta:
        model = SupplyRequestLine
        fields = ["instrument_set", "instrument_set_name", "quantity", "dispatched", "remaining"]
        read_only_fields = fields


class SupplyRequestSerializer(serializers.ModelSerializer):
    lines = SupplyRequestLineSerializer(many=True, read_only=True)
    requested = serializers.IntegerField(read_only=True, help_text=_("Packages requested."))
    dispatched = serializers.IntegerField(
        read_only=True, help_text=_("Packages dispatched against the request so far.")
    )

    class Meta:
        model = SupplyRequest
        fields = [
            "id",
            "number",
            "status",
            "center",
            "requesting_institution",
            "department",
            "requested_by",
            "created_at",
            "needed_by",
            "note",
            "requested",
            "dispatched",
            "lines",
            "fulfilled_at",
            "cancelled_at",
            "cancelled_by",
        ]
        read_only_fields = fields


class SupplyRequestLineInputSerializer(serializers.Serializer):
    instrument_set = ReferenceField(
        queryset=InstrumentSet.objects.all(),
        scope=_sets_of_center,
        message=_("Every set must be one of the chosen center's."),
        help_text=_("A set of the chosen center."),
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_REQUEST_QUANTITY)


class SupplyRequestCreateSerializer(ReferencesMixin, serializers.Serializer):
    center = ReferenceField(
        queryset=SharedCenter.objects.all(),
        scope=_request_centers,
        message=_("Choose a sterilization supply center of your alliance."),
        help_text=_("A sterilization supply center."),
    )
    lines = SupplyRequestLineInputSerializer(
        many=True, help_text=_("One line per instrument set, each set once.")
    )
    department = ReferenceField(
        queryset=Department.objects.all(),
        required=False,
        allow_null=True,
        scope=_own_departments,
        message=DEPARTMENT_ELSEWHERE,
        help_text=_("Defaults to the user's own department."),
    )
    needed_by = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")
