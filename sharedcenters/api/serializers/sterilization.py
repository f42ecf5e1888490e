"""Sterilization: packages, their moves and events, cycles, recalls."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alliance.api.references import ReferenceField, ReferencesMixin
from alliance.models import Institution, Patient

from ...choices import IndicatorResult, PackageAction, PackageStatus, SterilizationMethod
from ...models import (
    InstrumentSet,
    Package,
    PackageEvent,
    SharedCenter,
    SterilizationCycle,
    SupplyRequest,
)
from ...services import PACKAGE_MOVES
from .scopes import actor_name, package_owners


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
        scope=package_owners,
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
        return actor_name(event.actor)

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
