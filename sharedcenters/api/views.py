"""The shared-centers API: the catalog, diagnostic orders, imaging slots and sterilization.

Rows come from `restrict(user)` (an invisible row is a 404), the role is checked per action by
`action_permissions`, and every write goes through a service, whose errors the project's handler
maps: a Django ValidationError is a 400 naming the field, IllegalTransition a 409 and
ActionNotAllowed a 403. Changes of state are explicit actions, never a writable status.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.access import RestrictedViewSetMixin, row_for_user

from .. import selectors, services
from ..filters import ExamOrderFilter, ImagingSlotFilter, PackageFilter, SterilizationCycleFilter
from ..models import (
    ExamOrder,
    ExamOrderItem,
    ImagingSlot,
    Package,
    ServiceItem,
    SharedCenter,
    SterilizationCycle,
    SupplyRequest,
    SupplyRequestLine,
)
from . import serializers as s
from .pagination import (
    CycleCursorPagination,
    OrderCursorPagination,
    PackageCursorPagination,
    SupplyRequestCursorPagination,
)

TRANSITION_DOC = _(
    "Answers with the updated order; 404 when you cannot see it, 403 when it is not yours to "
    "act on, 409 when its state does not allow it."
)
VIEW_ORDERS = "sharedcenters.view_examorder"
VIEW_PACKAGES = "sharedcenters.view_package"
VIEW_REQUESTS = "sharedcenters.view_supplyrequest"
RESULT_FIELDS = {
    "physical_result": "physical",
    "chemical_result": "chemical",
    "biological_result": "biological",
}


class BodyMixin:
    def _body(self, serializer_class, instance=None) -> dict:
        """The request body; `instance` is the row acted on, which bounds what the body may
        name (alliance.api.references)."""
        body = serializer_class(
            instance, data=self.request.data, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        return body.validated_data


# --- centers ---------------------------------------------------------------------------------


class SharedCenterViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The alliance's shared centers and their active catalog: reference data for ordering."""

    queryset = SharedCenter.objects.all()
    serializer_class = s.SharedCenterSerializer
    filterset_fields = ["kind", "alliance", "institution"]
    ordering_fields = ["kind", "name"]
    ordering = ["kind", "name", "id"]

    def get_queryset(self) -> QuerySet[SharedCenter]:
        # restrict() ORs in a join on the center's staff, which repeats a center once per staff
        # member; selecting by id keeps one row each.
        visible = super().get_queryset()
        items = ServiceItem.objects.filter(is_active=True).order_by("code")
        centers = visible.by_id().prefetch_related(
            Prefetch("items", queryset=items, to_attr="active_items")
        )
        # The list is what may be ordered from; a closed center still answers by id, for the
        # orders that name it.
        return centers.filter(is_active=True) if self.action == "list" else centers


# --- orders ----------------------------------------------------------------------------------


class ExamOrderViewSet(
    BodyMixin,
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Lab, imaging and ECG orders to the shared centers, and their reports."""

    # Center and patient are joined, items and results prefetched: a fixed number of queries a
    # page, however many rows.
    queryset = ExamOrder.objects.select_related("center", "patient").prefetch_related(
        Prefetch("items", queryset=ExamOrderItem.objects.select_related("item")), "results"
    )
    serializer_class = s.ExamOrderSerializer
    filterset_class = ExamOrderFilter
    pagination_class = OrderCursorPagination
    ordering_fields = ["ordered_at", "number"]
    ordering = ["-ordered_at", "-id"]
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = (
        {name: VIEW_ORDERS for name in ("list", "retrieve", "events")}
        | {"create": "sharedcenters.add_examorder"}
        | {name: "sharedcenters.change_examorder" for name in services.TRANSITIONS}
    )

    def get_serializer_class(self):
        return s.ExamOrderSerializer if self.action == "list" else s.ExamOrderDetailSerializer

    def _answer(self, order: ExamOrder, code: int = status.HTTP_200_OK) -> Response:
        # Read again with the list's joins: the service hands back its locked row without them.
        # Restricted like any read: an answer never shows a row the user may not see.
        fresh = row_for_user(self.get_queryset(), self.request.user, order.pk, audited=False)
        return Response(
            s.ExamOrderDetailSerializer(fresh, context=self.get_serializer_context()).data,
            status=code,
        )

    @extend_schema(
        request=s.ExamOrderCreateSerializer, responses={201: s.ExamOrderDetailSerializer}
    )
    def create(self, request, *args, **kwargs):
        """Order items of one center for one patient; an imaging order holds one modality."""
        data = self._body(s.ExamOrderCreateSerializer)
        order = services.order_create(actor=request.user, **data)
        return self._answer(order, status.HTTP_201_CREATED)

    def _transition(self, service, serializer_class=s.OrderNoteSerializer) -> Response:
        order = self.get_object()
        data = self._body(serializer_class, order)
        return self._answer(service(actor=self.request.user, order=order, **data))

    @extend_schema(
        request=s.OrderNoteSerializer,
        responses=s.ExamOrderDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def collect(self, request, pk=None):
        """The member took the specimen (or recorded the ECG) and sends it."""
        return self._transition(services.order_collect)

    @extend_schema(
        request=s.OrderScheduleSerializer,
        responses=s.ExamOrderDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def schedule(self, request, pk=None):
        """Book an imaging order into a slot, or move it to another one."""
        return self._transition(services.order_schedule, s.OrderScheduleSerializer)

    @extend_schema(
        request=s.OrderNoteSerializer,
        responses=s.ExamOrderDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        """Specimen or patient at the center: the turnaround clock starts."""
        return self._transition(services.order_receive)

    @extend_schema(
        request=s.OrderRejectSerializer,
        responses=s.ExamOrderDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """The lab cannot use the specimen; `note` is required with the reason `other`."""
        return self._transition(services.order_reject, s.OrderRejectSerializer)

    @extend_schema(
        request=s.OrderNoteSerializer,
        responses=s.ExamOrderDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._transition(services.order_start)

    @extend_schema(
        request=s.OrderReportSerializer,
        responses=s.ExamOrderDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def report(self, request, pk=None):
        """Results for a lab order, findings and impression otherwise; a critical value alerts
        the ordering department at once."""
        order = self.get_object()
        data = self._body(s.OrderReportSerializer, order)
        return self._answer(services.order_report(actor=request.user, order=order, **data))

    @extend_schema(
        request=s.OrderAmendSerializer,
        responses=s.ExamOrderDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        """Correct an issued report: send the whole corrected report and a `reason`. The report
        it replaces stays readable in `report_versions`; the orderer acknowledges again."""
        order = self.get_object()
        # The reviewer is a colleague at the center: the service checks, the field says so too.
        data = self._body(s.OrderAmendSerializer, order)
        return self._answer(services.order_amend(actor=request.user, order=order, **data))

    @extend_schema(
        request=s.OrderNoteSerializer,
        responses=s.ExamOrderDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """The orderer has read the report (and acted on a critical value)."""
        return self._transition(services.order_acknowledge)

    @extend_schema(
        request=s.OrderCancelSerializer,
        responses=s.ExamOrderDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._transition(services.order_cancel, s.OrderCancelSerializer)

    @extend_schema(responses=s.OrderEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def events(self, request, pk=None):
        """The timeline: every step, oldest first."""
        order = self.get_object()
        events = order.events.select_related("actor").order_by("at", "pk")
        return Response(s.OrderEventSerializer(events, many=True).data)


# --- imaging slots ---------------------------------------------------------------------------


class ImagingSlotViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Bookable times of the imaging and ECG centers with the places still free. Slots yet to
    begin only, unless `starts_after` is given."""

    queryset = ImagingSlot.objects.all()
    serializer_class = s.ImagingSlotSerializer
    filterset_class = ImagingSlotFilter
    ordering_fields = ["starts_at"]
    ordering = ["starts_at", "modality", "id"]
    action_permissions = {"list": VIEW_ORDERS, "retrieve": VIEW_ORDERS}

    def get_queryset(self) -> QuerySet[ImagingSlot]:
        # restrict() may join the center's staff; counting bookings over that join would count
        # each booking once per staff member, so the visible ids are a subquery instead.
        slots = super().get_queryset().by_id().with_bookings()
        if self.action == "list" and not self.request.query_params.get("starts_after"):
            slots = slots.filter(starts_at__gt=timezone.now())
        return slots


# --- sterilization ---------------------------------------------------------------------------


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


class SupplyRequestViewSet(
    BodyMixin,
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Members' requests for sterile packages (申领), with what each line has received so far.

    The center serves a request by dispatching packages against it (`supply_request` in
    `sterilization/packages/move/`); the last package a request waits for fulfills it."""

    # Totals and each line's dispatched count are subqueries, the lines one prefetch: a fixed
    # number of queries a page.
    queryset = SupplyRequest.objects.with_totals().prefetch_related(
        Prefetch(
            "lines",
            queryset=SupplyRequestLine.objects.with_dispatched().select_related("instrument_set"),
        )
    )
    serializer_class = s.SupplyRequestSerializer
    filterset_fields = ["status", "center"]
    pagination_class = SupplyRequestCursorPagination
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "head", "options"]
    action_permissions = {
        "list": VIEW_REQUESTS,
        "retrieve": VIEW_REQUESTS,
        "create": "sharedcenters.add_supplyrequest",
        "cancel": "sharedcenters.change_supplyrequest",
    }

    def _answer(self, request: SupplyRequest, code: int = status.HTTP_200_OK) -> Response:
        fresh = row_for_user(self.get_queryset(), self.request.user, request.pk, audited=False)
        return Response(s.SupplyRequestSerializer(fresh).data, status=code)

    @extend_schema(
        request=s.SupplyRequestCreateSerializer, responses={201: s.SupplyRequestSerializer}
    )
    def create(self, request, *args, **kwargs):
        """Request packages of one or more sets of a sterilization center (member staff)."""
        data = self._body(s.SupplyRequestCreateSerializer)
        lines = [(line["instrument_set"], line["quantity"]) for line in data.pop("lines")]
        supply_request = services.supply_request_create(actor=request.user, lines=lines, **data)
        return self._answer(supply_request, status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses=s.SupplyRequestSerializer,
        description=_(
            "The requesting institution withdraws its request. 404 when you cannot see it, 403 "
            "when it is not your institution's, 409 once fulfilled, cancelled or partly "
            "dispatched."
        ),
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        supply_request = self.get_object()
        return self._answer(
            services.supply_request_cancel(actor=request.user, request=supply_request)
        )
