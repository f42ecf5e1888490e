"""Sterilization: instrument packages traced by barcode, and the sterilizer cycles with their
indicators, recalls and recall report."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.access import RestrictedViewSetMixin

from ... import selectors, services
from ...filters import PackageFilter, SterilizationCycleFilter
from ...models import Package, SterilizationCycle
from .. import serializers as s
from ..pagination import CycleCursorPagination, PackageCursorPagination
from .base import VIEW_PACKAGES, BodyMixin

RESULT_FIELDS = {
    "physical_result": "physical",
    "chemical_result": "chemical",
    "biological_result": "biological",
}


class PackageViewSet(
    BodyMixin,
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Instrument packages traced by barcode. A patient is shown only to users who may see them."""

    queryset = Package.objects.select_related("instrument_set")
    serializer_class = s.PackageSerializer
    filterset_class = PackageFilter
    pagination_class = PackageCursorPagination
    ordering_fields = ["barcode"]
    ordering = ["barcode"]
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = {name: VIEW_PACKAGES for name in ("list", "retrieve", "events")} | {
        name: "sharedcenters.change_package" for name in ("create", "move")
    }

    def _packages(self, packages: list[Package]) -> list[dict]:
        context = self.get_serializer_context() | {
            "patients": selectors.visible_patient_names(
                self.request.user, (p.used_for_patient_id for p in packages)
            )
        }
        return s.PackageSerializer(packages, many=True, context=context).data

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._packages(page))

    def retrieve(self, request, *args, **kwargs):
        return Response(self._packages([self.get_object()])[0])

    @extend_schema(request=s.PackageRegisterSerializer, responses={201: s.PackageSerializer})
    def create(self, request, *args, **kwargs):
        """Register a new package at the center (center staff)."""
        package = services.package_register(
            actor=request.user, **self._body(s.PackageRegisterSerializer)
        )
        return Response(self._packages([package])[0], status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.PackageMoveSerializer,
        responses=s.PackageMoveResultSerializer,
        description=_(
            "All scanned packages move one step, or none does: a 400 lists every barcode that "
            "cannot move and why. A dispatch may name the `supply_request` it serves: 403 when "
            "you do not work at its center, 409 when it is no longer open."
        ),
    )
    @action(detail=False, methods=["post"], pagination_class=None, filterset_class=None)
    def move(self, request):
        """Move a batch of packages by barcode."""
        packages = services.packages_move(actor=request.user, **self._body(s.PackageMoveSerializer))
        return Response({"moved": len(packages), "packages": self._packages(packages)})

    @extend_schema(responses=s.PackageEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def events(self, request, pk=None):
        """The trace: every step of the package, oldest first."""
        package = self.get_object()
        events = list(package.events.select_related("actor").order_by("at", "pk"))
        patients = selectors.visible_patient_names(request.user, (e.patient_id for e in events))
        context = self.get_serializer_context() | {"patients": patients}
        return Response(s.PackageEventSerializer(events, many=True, context=context).data)


class SterilizationCycleViewSet(
    BodyMixin,
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Sterilizer loads, their indicators and recalls."""

    queryset = SterilizationCycle.objects.all()
    serializer_class = s.SterilizationCycleSerializer
    filterset_class = SterilizationCycleFilter
    pagination_class = CycleCursorPagination
    ordering_fields = ["started_at"]
    ordering = ["-started_at", "-id"]
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = {name: VIEW_PACKAGES for name in ("list", "retrieve", "recall_report")} | {
        name: "sharedcenters.change_sterilizationcycle" for name in ("create", "results", "recall")
    }

    def _answer(self, cycle: SterilizationCycle, code: int = status.HTTP_200_OK) -> Response:
        return Response(s.SterilizationCycleSerializer(cycle).data, status=code)

    @extend_schema(request=s.CycleStartSerializer, responses={201: s.SterilizationCycleSerializer})
    def create(self, request, *args, **kwargs):
        """Start a cycle of one sterilizer (center staff)."""
        cycle = services.cycle_start(actor=request.user, **self._body(s.CycleStartSerializer))
        return self._answer(cycle, status.HTTP_201_CREATED)

    @extend_schema(
        request=s.CycleResultsSerializer,
        responses=s.SterilizationCycleSerializer,
        description=_(
            "Physical and chemical passed release the cycle; the biological result may follow "
            "(implant sets wait for it). Any failed indicator fails the cycle and recalls its "
            "packages. 409 once the biological result is in."
        ),
    )
    @action(detail=True, methods=["post"])
    def results(self, request, pk=None):
        cycle = self.get_object()
        data = self._body(s.CycleResultsSerializer)
        try:
            cycle = services.cycle_record_results(actor=request.user, cycle=cycle, **data)
        except DjangoValidationError as exc:
            # The service names the model's columns; a client should see the names it sent.
            if not hasattr(exc, "error_dict"):
                raise
            renamed = {RESULT_FIELDS.get(k, k): v for k, v in exc.error_dict.items()}
            raise DjangoValidationError(renamed) from exc
        return self._answer(cycle)

    @extend_schema(
        request=s.CycleRecallSerializer,
        responses=s.SterilizationCycleSerializer,
        description=_("Blocks every unused package of the cycle; 409 when already recalled."),
    )
    @action(detail=True, methods=["post"])
    def recall(self, request, pk=None):
        cycle = self.get_object()
        data = self._body(s.CycleRecallSerializer)
        return self._answer(services.cycle_recall(actor=request.user, cycle=cycle, **data))

    @extend_schema(responses=s.RecallLineSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        url_path="recall-report",
        url_name="recall-report",
        pagination_class=None,
        filterset_class=None,
    )
    def recall_report(self, request, pk=None):
        """Every package sterilized in the cycle that you may see, where it is now, and whom it
        was used on since: the patients to follow up."""
        cycle = self.get_object()
        lines = selectors.recall_report(cycle)
        # A member sees its own packages of the cycle, not the other members'.
        visible = selectors.visible_package_ids(request.user, [line.package.pk for line in lines])
        lines = [line for line in lines if line.package.pk in visible]
        patients = selectors.visible_patient_names(
            request.user, (use.patient_id for line in lines for use in line.uses)
        )
        context = self.get_serializer_context() | {"patients": patients}
        return Response(s.RecallLineSerializer(lines, many=True, context=context).data)
