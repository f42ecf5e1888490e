import time
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

from core.access import RestrictedViewSetMixin

from .. import selectors, tasks
from ..choices import FactKind, JobKind, JobStatus
from ..models import Job
from ..services.imports import import_job_create, may_import
from ..services.jobs import job_rerun
from ..tables import OLE_MAGIC, ZIP_MAGIC
from . import serializers as s

# Every upload is imported by a job, in a Celery worker (with its memory limits), never in the
# web process. A small one is waited for (IMPORT_SYNC_WAIT_SECONDS) and answered as the import
# itself answers: 200 with the result, 400 with the rejection. A larger one is answered at once
# with the job (202 with its URL): over settings.IMPORT_SYNC_MAX_BYTES (4 MB), a workbook
# unzipping past IMPORT_SYNC_MAX_UNZIPPED_BYTES, and an .xls or .ods always (calamine loads its
# sheet whole and its extent cannot be measured first).


class ImportsFacts(BasePermission):
    message = gettext_lazy("Only the alliance office imports facts.")

    def has_permission(self, request, view) -> bool:
        return may_import(request.user)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


class FactImportView(RestrictedViewSetMixin, APIView):
    """Import a file of facts: every row or none. Re-importing updates the same rows.
    `?dry_run=true` answers the preview without writing anything. The file is imported by a
    job in a worker, never in the web process; for a file up to 4 MB the request waits for the
    job (IMPORT_SYNC_WAIT_SECONDS, 20 s) and answers its result (200) or rejection (400)."""

    permission_classes = [IsAuthenticated, ImportsFacts]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="facts_import",
        parameters=[
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=FactKind.values,
                description=gettext_lazy("visits, stays or beds: which columns the file has."),
            ),
            OpenApiParameter(
                "dry_run",
                OpenApiTypes.BOOL,
                OpenApiParameter.QUERY,
                description=gettext_lazy(
                    "true: check the file and answer the preview; write nothing."
                ),
            ),
        ],
        request={"multipart/form-data": s.FactUploadSerializer},
        responses={
            200: s.ImportResultSerializer,
            202: OpenApiResponse(
                s.ImportJobAcceptedSerializer,
                description=gettext_lazy(
                    "A large file, or a job not finished within the wait: follow its URL."
                ),
            ),
            400: OpenApiResponse(
                s.ImportRejectedSerializer,
                description=gettext_lazy("The file was rejected whole; nothing was written."),
            ),
        },
    )
    def post(self, request, kind: str):
        if kind not in FactKind.values:
            raise NotFound
        upload = request.FILES.get("file")
        if upload is None:
            body = {
                "detail": _("Attach the file in the field `file`."),
                "error_count": 0,
                "errors": [],
                "errors_omitted": 0,
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        dry_run = _flag(request.query_params.get("dry_run"))
        waits = not _runs_as_job(upload)
        job = import_job_create(actor=request.user, kind=kind, upload=upload, dry_run=dry_run)
        if waits:
            job = _wait_for(job)
            if job.status == JobStatus.DONE:
                return Response(job.result)
            if job.status == JobStatus.FAILED and "error_count" in job.result:
                return Response(_rejection(job), status=status.HTTP_400_BAD_REQUEST)
        # A large file, one still running when the wait ran out, or one that failed otherwise
        # (its worker died, an unexpected error): the job's URL tells the rest.
        url = reverse("facts-import-job", args=[job.pk])
        body = {"job": job.pk, "url": request.build_absolute_uri(url), "status": job.status}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


def _wait_for(job: Job) -> Job:
    """The job once finished, or as it is when IMPORT_SYNC_WAIT_SECONDS have passed: its row is
    read again after short sleeps (the request holds no transaction, so each read sees what
    the worker committed)."""
    if tasks.run_import_job.app.conf.task_always_eager:
        # No worker (make run without a broker, the test suite): the task runs here, as
        # .delay() would; the delivery after commit then finds the job claimed and does nothing.
        tasks.run_import_job(job.pk)
    deadline = time.monotonic() + settings.IMPORT_SYNC_WAIT_SECONDS
    pause = 0.02
    while True:
        job.refresh_from_db(fields=["status", "result", "errors"])
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            return job
        left = deadline - time.monotonic()
        if left <= 0:
            return job
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.25)


def _rejection(job: Job) -> dict:
    """The 400 of a rejected file, as the import raised it (ImportRejected.as_dict)."""
    result = job.result
    return {
        "detail": result["detail"],
        "error_count": result["error_count"],
        "errors": job.errors,
        "errors_omitted": result.get("errors_omitted", 0),
    }


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


class FactImportJobView(RestrictedViewSetMixin, APIView):
    """An import job started through the API or the upload page: status, progress, result."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="facts_import_job", responses={200: s.ImportJobSerializer})
    def get(self, request, pk: int):
        # A job the user may not follow is not disclosed: 404, for every role (not 403).
        if not may_import(request.user):
            raise NotFound
        job = selectors.job_for_user(request.user, pk, kind=JobKind.IMPORT)
        return Response(s.ImportJobSerializer(job).data)


class FactImportJobRerunView(RestrictedViewSetMixin, APIView):
    """Run a failed import job again (its worker died, or a limit stopped it): 202."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="facts_import_job_rerun",
        request=None,
        responses={
            202: s.ImportJobSerializer,
            409: OpenApiResponse(
                description=gettext_lazy("The job has not failed: it cannot be run again.")
            ),
        },
    )
    def post(self, request, pk: int):
        if not may_import(request.user):
            raise NotFound
        job = selectors.job_for_user(request.user, pk, kind=JobKind.IMPORT)
        job = job_rerun(actor=request.user, job=job)
        return Response(s.ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
