from django.urls import reverse
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

from .. import selectors
from ..choices import FactKind, JobKind
from ..services.imports import (
    ImportRejected,
    import_facts,
    import_job_create,
    may_import,
)
from . import serializers as s

# Larger uploads are imported by a job (202 with its URL) instead of holding the request.
SYNC_MAX_BYTES = 4 * 1024 * 1024


class ImportsFacts(BasePermission):
    message = gettext_lazy("Only the alliance office imports facts.")

    def has_permission(self, request, view) -> bool:
        return may_import(request.user)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


class FactImportView(APIView):
    """Import a file of facts: every row or none. Re-importing updates the same rows.
    `?dry_run=true` answers the preview without writing anything."""

    permission_classes = [IsAuthenticated, ImportsFacts]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="facts_import",
        parameters=[
            OpenApiParameter(
                "kind", OpenApiTypes.STR, OpenApiParameter.PATH, enum=FactKind.values,
                description=gettext_lazy("visits, stays or beds: which columns the file has."),
            ),
            OpenApiParameter(
                "dry_run", OpenApiTypes.BOOL, OpenApiParameter.QUERY,
                description=gettext_lazy("true: check the file and answer the preview; write "
                                         "nothing."),
            ),
        ],
        request={"multipart/form-data": s.FactUploadSerializer},
        responses={
            200: s.ImportResultSerializer,
            202: OpenApiResponse(
                s.ImportJobAcceptedSerializer,
                description=gettext_lazy("A large file: imported by a job, follow its URL."),
            ),
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
        dry_run = _flag(request.query_params.get("dry_run"))
        if upload.size is not None and upload.size > SYNC_MAX_BYTES:
            job = import_job_create(actor=request.user, kind=kind, upload=upload, dry_run=dry_run)
            url = reverse("facts-import-job", args=[job.pk])
            body = {"job": job.pk, "url": request.build_absolute_uri(url), "status": job.status}
            return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})
        try:
            result = import_facts(kind=kind, file=upload, actor=request.user, dry_run=dry_run)
        except ImportRejected as exc:
            return Response(exc.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict())


class FactImportJobView(APIView):
    """An import job started through the API or the upload page: status, progress, result."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="facts_import_job", responses={200: s.ImportJobSerializer})
    def get(self, request, pk: int):
        # A job the user may not follow is not disclosed: 404, for every role (not 403).
        job = selectors.jobs_for(request.user, JobKind.IMPORT).filter(pk=pk).first()
        if job is None or not may_import(request.user):
            raise NotFound
        return Response(s.ImportJobSerializer(job).data)
