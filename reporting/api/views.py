from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ..choices import FactKind
from ..services.imports import ImportRejected, import_facts, may_import
from . import serializers as s


class ImportsFacts(BasePermission):
    message = gettext_lazy("Only the alliance office imports facts.")

    def has_permission(self, request, view) -> bool:
        return may_import(request.user)


class FactImportView(APIView):
    """Import a file of facts: every row or none. Re-importing updates the same rows."""

    permission_classes = [IsAuthenticated, ImportsFacts]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="facts_import",
        parameters=[
            OpenApiParameter(
                "kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=FactKind.values,
                description=gettext_lazy("visits, stays or beds: which columns the file has."),
            )
        ],
        request={"multipart/form-data": s.FactUploadSerializer},
        responses={
            200: s.ImportResultSerializer,
            400: OpenApiResponse(
                s.ImportRejectedSerializer,
                description=gettext_lazy("The file was rejected whole; nothing was written."),
            ),
        },
    )  # fmt: skip
    def post(self, request, kind: str):
        if kind not in FactKind.values:
            raise NotFound
        upload = request.FILES.get("file")
        if upload is None:
            body = {"detail": _("Attach the file in the field `file`."), "error_count": 0,
                    "errors": []}  # fmt: skip
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        try:
            result = import_facts(kind=kind, file=upload, actor=request.user)
        except ImportRejected as exc:
            return Response(exc.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        return Response({"created": result.created, "updated": result.updated})
