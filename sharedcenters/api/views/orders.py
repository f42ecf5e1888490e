"""Lab, imaging and ECG orders: the list, a new order, each step as an action, the timeline."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.access import RestrictedViewSetMixin, row_for_user

from ... import services
from ...filters import ExamOrderFilter
from ...models import ExamOrder, ExamOrderItem
from .. import serializers as s
from ..pagination import OrderCursorPagination
from .base import VIEW_ORDERS, BodyMixin

TRANSITION_DOC = _(
    "Answers with the updated order; 404 when you cannot see it, 403 when it is not yours to "
    "act on, 409 when its state does not allow it."
)


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
