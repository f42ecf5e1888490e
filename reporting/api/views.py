import zipfile

from django.conf import settings
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
from ..services.jobs import job_rerun
from ..tables import OLE_MAGIC, ZIP_MAGIC
from . import serializers as s

# Larger uploads are imported by a job (202 with its URL) instead of holding the request:
# settings.IMPORT_SYNC_MAX_BYTES (4 MB), and a workbook unzipping past
# IMPORT_SYNC_MAX_UNZIPPED_BYTES. An .xls or .ods always: calamine loads its sheet whole and
# its extent cannot be measured first, so it is read in a worker, never in the web process.


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
        if _runs_as_job(upload):
            job = import_job_create(actor=request.user, kind=kind, upload=upload, dry_run=dry_run)
            url = reverse("facts-import-job", args=[job.pk])
            body = {"job": job.pk, "url": request.build_absolute_uri(url), "status": job.status}
            return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})
        try:
            result = import_facts(kind=kind, file=upload, actor=request.user, dry_run=dry_run)
        except ImportRejected as exc:
            return Response(exc.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict())


def _runs_as_job(upload) -> bool:
    if upload.size is None or upload.size > settings.IMPORT_SYNC_MAX_BYTES:
        return True
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(OLE_MAGIC):
        return True
    if not head.startswith(ZIP_MAGIC):
        return False  # CSV or TSV, or refused by its first bytes
    try:
        with zipfile.ZipFile(upload) as archive:
            unzipped = sum(member.file_size for member in archive.infolist())
            ods = "xl/workbook.xml" not in archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        return False  # refused as damaged at once
    finally:
        upload.seek(0)
    return ods or unzipped > settings.IMPORT_SYNC_MAX_UNZIPPED_BYTES


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


class FactImportJobRerunView(APIView):
    """Run a failed import job again (its worker died, or a limit stopped it): 202."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="facts_import_job_rerun", request=None,
        responses={202: s.ImportJobSerializer, 409: OpenApiResponse(
            description=gettext_lazy("The job has not failed: it cannot be run again."))},
    )  # fmt: skip
    def post(self, request, pk: int):
        job = selectors.jobs_for(request.user, JobKind.IMPORT).filter(pk=pk).first()
        if job is None or not may_import(request.user):
            raise NotFound
        job = job_rerun(actor=request.user, job=job)
        return Response(s.ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
