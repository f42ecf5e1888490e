"""The members' supply requests (申领) to a sterilization center."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.access import RestrictedViewSetMixin, row_for_user

from ... import services
from ...models import SupplyRequest, SupplyRequestLine
from .. import serializers as s
from ..pagination import SupplyRequestCursorPagination
from .base import VIEW_REQUESTS, BodyMixin


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
