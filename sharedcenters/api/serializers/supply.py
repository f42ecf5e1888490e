"""The members' requests for sterile packages."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from alliance.api.references import ReferenceField, ReferencesMixin
from alliance.models import Department

from ...models import (
    MAX_REQUEST_QUANTITY,
    InstrumentSet,
    SharedCenter,
    SupplyRequest,
    SupplyRequestLine,
)
from .scopes import DEPARTMENT_ELSEWHERE, own_departments, request_centers, sets_of_center


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
        scope=sets_of_center,
        message=_("Every set must be one of the chosen center's."),
        help_text=_("A set of the chosen center."),
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_REQUEST_QUANTITY)


class SupplyRequestCreateSerializer(ReferencesMixin, serializers.Serializer):
    center = ReferenceField(
        queryset=SharedCenter.objects.all(),
        scope=request_centers,
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
        scope=own_departments,
        message=DEPARTMENT_ELSEWHERE,
        help_text=_("Defaults to the user's own department."),
    )
    needed_by = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")
