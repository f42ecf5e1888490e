"""Indicator values and their definitions: `/api/v1/indicators/`, `/indicators/definitions/`."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from alliance.models import Institution
from core.access import RestrictedViewSetMixin

from ..indicators import INDICATORS
from ..models import IndicatorValue
from ..services.periods import parse_period

MAX_ID = 2**63 - 1  # the largest primary key PostgreSQL's bigint (and SQLite's integer) holds


class DefinitionSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    numerator = serializers.CharField()
    denominator = serializers.CharField(allow_null=True)
    factor = serializers.IntegerField()
    decimals = serializers.IntegerField()
    source = serializers.CharField()
    median = serializers.BooleanField(source="is_median")
    institution_scope = serializers.BooleanField()


class ScopeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["institution", "alliance"])
    id = serializers.IntegerField()
    code = serializers.CharField(allow_null=True, help_text="The institution's code.")
    name = serializers.CharField()


class CoverageSerializer(serializers.Serializer):
    members = serializers.IntegerField(help_text="Member institutions expected to send facts.")
    reporting = serializers.IntegerField(
        help_text="Those that supplied facts for every month of the period."
    )


class IndicatorValueSerializer(serializers.ModelSerializer):
    scope = serializers.SerializerMethodField()
    coverage = serializers.SerializerMethodField()
    value = serializers.FloatField(allow_null=True)
    numerator = serializers.FloatField(allow_null=True)
    denominator = serializers.FloatField(allow_null=True)
    unit = serializers.SerializerMethodField()

    class Meta:
        model = IndicatorValue
        fields = [
            "indicator",
            "scope",
            "period",
            "value",
            "numerator",
            "denominator",
            "unit",
            "coverage",
            "computed_at",
        ]

    @extend_schema_field(CoverageSerializer(allow_null=True))
    def get_coverage(self, row: IndicatorValue) -> dict | None:
        """An alliance's figure from facts: {"members": 5, "reporting": 3}; null otherwise."""
        if row.members is None:
            return None
        return {"members": row.members, "reporting": row.reporting or 0}

    @extend_schema_field(ScopeSerializer)
    def get_scope(self, row: IndicatorValue) -> dict:
        if row.institution_id:
            institution = row.institution
            return {
                "type": "institution",
                "id": institution.pk,
                "code": institution.code,
                "name": institution.name,
            }
        return {"type": "alliance", "id": row.alliance.pk, "code": None, "name": row.alliance.name}

    def get_unit(self, row: IndicatorValue) -> str:
        indicator = INDICATORS.get(row.indicator)
        return str(indicator.unit) if indicator else ""


class IndicatorValueList(RestrictedViewSetMixin, ListAPIView):
    """Computed indicator values the user may read: aggregates only, never patient rows.

    `value` is null when the denominator is zero: no value, not zero.
    """

    serializer_class = IndicatorValueSerializer
    filter_backends: list = []
    permission_classes = [IsAuthenticated]  # no viewset actions: no ActionRulePermission

    def get_queryset(self):
        params = self.request.query_params
        values = IndicatorValue.objects.restrict(self.request.user).select_related(
            "institution", "alliance"
        )
        errors = {}
        if key := params.get("indicator"):
            if key not in INDICATORS:
                errors["indicator"] = [_("Unknown indicator: %(key)s.") % {"key": key}]
            values = values.filter(indicator=key)
        if text := params.get("period"):
            period = parse_period(text)
            if period is None:
                errors["period"] = [
                    _("Give a year (2019), a quarter (2019-Q3) or a month (2019-07).")
                ]
            else:
                values = values.filter(period=period.key)
        if code := params.get("institution"):
            # No code holds a NUL, which PostgreSQL refuses in a query: not looked up at all.
            if "\x00" in code or not Institution.objects.filter(code=code).exists():
                errors["institution"] = [_("No institution with this code.")]
            values = values.filter(institution__code=code)
        if alliance := params.get("alliance"):
            if not re.fullmatch(r"[0-9]+", alliance):
                errors["alliance"] = [_("Give the alliance's id (a number).")]
            elif int(alliance) > MAX_ID:
                values = values.none()  # no such alliance; the database would not take the number
            else:
                values = values.filter(alliance_id=int(alliance))
        if errors:
            raise ValidationError(errors)
        return values.order_by(
            "indicator", "institution_id", "alliance_id", "period_start", "period_kind", "pk"
        )

    @extend_schema(
        operation_id="indicators_list",
        parameters=[
            OpenApiParameter(
                "indicator",
                OpenApiTypes.STR,
                enum=list(INDICATORS),
                description=gettext_lazy("An indicator key."),
            ),
            OpenApiParameter(
                "institution", OpenApiTypes.STR, description=gettext_lazy("An institution's code.")
            ),
            OpenApiParameter(
                "alliance", OpenApiTypes.INT, description=gettext_lazy("An alliance id.")
            ),
            OpenApiParameter(
                "period", OpenApiTypes.STR, description=gettext_lazy("2019, 2019-Q3 or 2019-07.")
            ),
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class IndicatorDefinitions(RestrictedViewSetMixin, APIView):
    """Every indicator with its definition: numerator, denominator, factor, unit and source."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="indicators_definitions", responses=DefinitionSerializer(many=True))
    def get(self, request) -> Response:
        return Response(DefinitionSerializer(INDICATORS.values(), many=True).data)
