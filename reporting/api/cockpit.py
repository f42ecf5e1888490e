"""The cockpit's figures: `/api/v1/cockpit/`, polled by the page every 60 s. Aggregates only."""

from __future__ import annotations

import rules
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import RestrictedViewSetMixin

from ..selectors.cockpit import cockpit


class ReadsCockpit(BasePermission):
    message = gettext_lazy("Only the health bureau and the alliance office read the cockpit.")

    def has_permission(self, request, view) -> bool:
        return rules.test_rule(view.required_rule, request.user)


class BenchmarkSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.DecimalField(max_digits=6, decimal_places=1, coerce_to_string=False)


class CapacityCoverageSerializer(serializers.Serializer):
    institutions = serializers.IntegerField(help_text="Care institutions counted.")
    population = serializers.IntegerField(help_text="The population they declare served.")


class TileSerializer(serializers.Serializer):
    key = serializers.ChoiceField(
        choices=[
            "referrals",
            "referral_completion_rate",
            "center_orders",
            "center_median_turnaround_hours",
            "green_channel_bookings",
            "beds_per_1000",
            "health_workers_per_1000",
        ]
    )
    current = serializers.FloatField(allow_null=True, help_text="This month so far.")
    previous = serializers.FloatField(
        allow_null=True, help_text="The previous month (null for capacity figures)."
    )
    trend = serializers.ChoiceField(
        choices=["up", "down", "flat"], allow_null=True, help_text="Against the previous month."
    )
    benchmarks = BenchmarkSerializer(many=True)
    coverage = CapacityCoverageSerializer(allow_null=True)


class AlertsSerializer(serializers.Serializer):
    overdue_referrals = serializers.IntegerField()
    critical_values_unacknowledged = serializers.IntegerField(
        help_text="Unacknowledged past settings.CRITICAL_VALUE_ACK_MINUTES."
    )
    members_without_data = serializers.IntegerField(
        help_text="Members with no visit or admission recorded this month."
    )
    failed_jobs = serializers.IntegerField(help_text="Failed imports and recomputations.")


class RankingSerializer(serializers.Serializer):
    institution_id = serializers.IntegerField()
    name = serializers.CharField()
    tier = serializers.CharField(allow_null=True)
    sent = serializers.IntegerField()
    received = serializers.IntegerField()
    total = serializers.IntegerField()


class CockpitSerializer(serializers.Serializer):
    reach = serializers.ChoiceField(choices=["all", "alliance", "district"])
    month = serializers.CharField(help_text="This month, YYYY-MM.")
    previous_month = serializers.CharField(help_text="The month compared against, YYYY-MM.")
    today = serializers.DateField()
    tiles = TileSerializer(many=True)
    alerts = AlertsSerializer()
    ranking = RankingSerializer(many=True, help_text="Members by referrals this month, top 10.")


def cockpit_data(board) -> dict:
    return {
        "reach": board.reach,
        "month": board.months.current,
        "previous_month": board.months.previous,
        "today": board.months.today,
        "tiles": [
            {
                "key": tile.key,
                "current": tile.current,
                "previous": tile.previous,
                "trend": tile.trend,
                "benchmarks": tile.benchmarks,
                "coverage": tile.coverage,
            }
            for tile in board.tiles
        ],
        "alerts": board.alerts,
        "ranking": board.ranking,
    }


class CockpitView(RestrictedViewSetMixin, APIView):
    """The cockpit of the health bureau (its district) and the alliance office (its
    alliances): this month against the previous one, capacity per 1,000 against the
    benchmarks, the alert wall and the members ranked by referrals. Counts only, no patient."""

    permission_classes = [IsAuthenticated, ReadsCockpit]
    # The rule the whole view needs (tests/security/site.py reads it to expect the 403).
    required_rule = "reporting.reads_cockpit"

    @extend_schema(operation_id="cockpit", responses=CockpitSerializer)
    def get(self, request) -> Response:
        board = cockpit(request.user)
        if board is None:  # the rule lets no such user through; kept for safety
            return Response({"detail": ReadsCockpit.message}, status=403)
        return Response(CockpitSerializer(cockpit_data(board)).data)
