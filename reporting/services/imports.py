"""Importing facts (visits, stays, open beds) from CSV, TSV, XLSX, XLS or ODS files: all rows
or none, and first as a preview.

One service, three ways in: the `import_facts` command, the upload page (through a Job run by
Celery) and the API. Each row is checked in Python as the file streams (readers.py); a file
with any bad row is rejected whole, with the first ERROR_LIMIT problems and the count of bad
rows, and nothing is written. A good file is upserted on its natural key, so importing it again
updates the same rows. The years the rows touch, before and after, are recomputed after commit.

Every import computes its preview (preview.py): rows created and updated and, per institution
and month, the totals before and after. A dry run (`dry_run=True`) does all of the import's
work and rolls it back, so the preview is exactly what a commit would do.

Everything happens in one transaction. On PostgreSQL a file of new rows is COPYed straight into
the fact table (a savepoint); if a key already exists, or a row is bad, that attempt is rolled
back and the file is read again into a TEMP staging table, checked for duplicate keys and merged
in SQL. Elsewhere (SQLite, for development and the default test run) rows are bulk-upserted in
batches. All paths give the same counts, the same rows and the same error report.

readers.py parses a file, import_rows.py checks its rows, import_writers.py stores them.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import BinaryIO

from django.core.files.base import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.models import Institution
from core import outbox
from core.access import profile_of
from core.errors import ActionNotAllowed, IllegalTransition

from .. import readers, tasks
from ..choices import FactKind, JobKind, JobStatus
from ..models import Job
from ..readers import ErrorReport, check_header, header_score, row_parser
from ..specs import SPECS
from ..tables import limit
from . import preview as previews
from .import_rows import (
    ERROR_LIMIT,
    ImportRejected,
    RowStream,
    check_deadline,
    file_rejected,
    header_rejected,
    rows_rejected,
)
from .import_writers import DirectWriter, Merged, NeedsMerge, PlainWriter, StagingWriter
from .jobs import job_claim

logger = logging.getLogger(__name__)

LOCK_SPACE = 0x4D454446  # pg_advisory_xact_lock(LOCK_SPACE, kind) while importing a file

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class ImportResult:
    kind: str
    created: int
    updated: int
    rows: int
    years: dict[int, list[int]]  # year → institutions whose indicators are recomputed
    dry_run: bool = False
    preview: dict = field(default_factory=dict)  # months and their warnings (preview.py)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The answer of the API and a job's result."""
        return {
            "dry_run": self.dry_run,
            "created": self.created,
            "updated": self.updated,
            "rows": self.rows,
            "warnings": self.warnings,
            **self.preview,
        }


# --- who may import what ----------------------------------------------------------------------


def may_import(user) -> bool:
    return user.has_perm("reporting.import_facts")


def institution_codes(actor) -> dict[str, int]:
    """Institution code → id of the institutions the actor may import for (all for None)."""
    institutions = Institution.objects.all()
    if actor is not None and not actor.is_superuser:
        profile = profile_of(actor)
        if profile is None:
            return {}
        institutions = Institution.objects.in_alliances_of(profile.institution_id)
    return dict(institutions.values_list("code", "pk"))


# --- the import -----------------------------------------------------------------------------


def import_facts(
    *,
    kind: str,
    file: BinaryIO | File,
    actor,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import one file of `kind` (visits, stays, beds) for `actor` (None: the system, for any
    institution). Raises ImportRejected when the file or any row is bad; writes nothing then.
    `progress(rows_read, estimated_rows)` is called every PROGRESS_EVERY rows. A dry run
    answers the same result and preview, and leaves the database as it was."""
    if kind not in SPECS:
        raise ValueError(f"unknown fact kind {kind!r}")
    if actor is not None and not may_import(actor):
        raise ActionNotAllowed(_("Only the alliance office imports facts."))
    spec = SPECS[kind]
    today = timezone.localdate()
    deadline = time.monotonic() + limit("MAX_SECONDS")  # one deadline for every pass
    run = partial(
        _run,
        spec=spec,
        file=_binary(file),
        codes=institution_codes(actor),
        today=today,
        progress=progress,
        deadline=deadline,
    )
    with transaction.atomic():
        totals = previews.Totals(spec)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # One import of a kind at a time: two files sharing keys cannot collide.
                kind_number = list(SPECS).index(kind)
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_SPACE, kind_number])
            totals.before_direct_write()
            try:
                merged, stream = run(DirectWriter, totals=totals)
            except NeedsMerge:
                merged, stream = run(StagingWriter, totals=totals)
        else:
            totals.before_plain_write(set(run.keywords["codes"].values()))
            merged, stream = run(PlainWriter, totals=totals)
        created, updated, old_spans = merged
        preview = totals.preview(stream.tally, created=created, updated=updated)
        if dry_run:
            transaction.set_rollback(True)
    years = _years(stream.spans | old_spans, today)
    if not dry_run:
        for year, institution_ids in years.items():
            outbox.enqueue(tasks.recompute_indicators, year, institution_ids)
    warnings = stream.warnings() + preview.pop("growth_warnings")
    rows = stream.rows - stream.blank_rows - len(stream.total_rows)  # the data rows
    return ImportResult(kind, created, updated, rows, years, dry_run, preview, warnings)


def _run(
    writer_class, *, spec, file, codes, today, progress, deadline, totals
) -> tuple[Merged, RowStream]:
    """Read the whole file once through one writer; raise ImportRejected if anything is bad
    (the caller's transaction then writes nothing)."""
    report = ErrorReport(ERROR_LIMIT)
    try:
        table = readers.open_table(file, estimate=progress is not None)
        with table:
            check_deadline(deadline)  # a workbook is loaded whole by open_table
            table.take_header(header_score(spec))
            header = check_header(spec, table.header)
            if header.problems:
                raise header_rejected(spec, header, table.header_row)
            report.labels = header.labels
            parse = row_parser(spec, header, codes, today)
            stream = RowStream(table, parse, spec, report, today, progress, header, deadline)
            merged = writer_class(spec, report, today, totals).write(stream)
            check_deadline(deadline)
    except readers.FileError as exc:
        raise file_rejected(exc) from exc
    if merged is None:
        raise rows_rejected(report)
    if stream.rows == stream.blank_rows + len(stream.total_rows):
        message = _("The file has no data rows.")
        row = table.header_row + 1
        raise ImportRejected(message, [report.entry(row, "", "", message)], 1)
    return merged, stream


def _binary(file):
    """The plain binary file under Django's File wrappers (uploads, FieldFile)."""
    while isinstance(file, File):
        file = file.file
    return file


def _years(spans: set[tuple[int, int, int]], today: datetime.date) -> dict[int, list[int]]:
    years: dict[int, set[int]] = {}
    for institution_id, first, last in spans:
        for year in range(first, min(last, today.year) + 1):
            years.setdefault(year, set()).add(institution_id)
    return {year: sorted(ids) for year, ids in sorted(years.items())}


# --- jobs: the upload page's imports, run by Celery --------------------------------------------


def import_job_create(*, actor, kind: str, upload: File, dry_run: bool = True) -> Job:
    """Keep the uploaded file in a job and queue its import after commit: a preview first
    (the upload page's way: the office reads it and confirms), or the import itself."""
    if not may_import(actor):
        raise ActionNotAllowed(_("Only the alliance office imports facts."))
    if kind not in FactKind.values:
        raise ValueError(f"unknown fact kind {kind!r}")
    with transaction.atomic():
        job = Job.objects.create(
            kind=JobKind.IMPORT,
            fact_kind=kind,
            file=upload,
            file_name=(upload.name or "")[-255:],
            requested_by=actor,
            result={"dry_run": dry_run},
        )
        outbox.enqueue(tasks.run_import_job, job.pk)
    return job


def awaits_confirmation(job: Job) -> bool:
    """A preview that went through: the office may now import the file for real."""
    return job.status == JobStatus.DONE and bool(job.result.get("dry_run"))


def import_job_confirm(*, actor, job: Job) -> Job:
    """Import for real the file a job has previewed (once: a second confirmation conflicts)."""
    if not may_import(actor):
        raise ActionNotAllowed(_("Only the alliance office imports facts."))
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if not awaits_confirmation(locked):
            raise IllegalTransition(_("This import is not waiting for a confirmation."))
        locked.status = JobStatus.QUEUED
        locked.result = {"dry_run": False, "previewed": locked.result}
        locked.errors = []
        locked.progress_done, locked.progress_total = 0, None
        locked.started_at = locked.finished_at = None
        locked.save(
            update_fields=[
                "status",
                "result",
                "errors",
                "progress_done",
                "progress_total",
                "started_at",
                "finished_at",
            ]
        )
        outbox.enqueue(tasks.run_import_job, locked.pk)
    return locked


class _ProgressRecorder:
    """Writes a job's progress where others can see it while the import's transaction is
    still open: through a second connection on PostgreSQL (on SQLite, which has one writer,
    through the same one; the page then sees the progress at the end)."""

    def __init__(self, job: Job):
        self.job = job
        self.side = None
        if connection.vendor == "postgresql":
            main = connections[DEFAULT_DB_ALIAS]
            self.side = type(main)(dict(main.settings_dict), DEFAULT_DB_ALIAS)

    def __call__(self, done: int, total: int | None) -> None:
        now = timezone.now()  # the heartbeat: the sweeper leaves a job that beats alone
        if self.side is None:
            Job.objects.filter(pk=self.job.pk).update(
                progress_done=done, progress_total=total, heartbeat_at=now
            )
            return
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Job._meta.db_table} SET progress_done = %s, progress_total = %s,"  # noqa: S608
                " heartbeat_at = %s WHERE id = %s",
                [done, total, now, self.job.pk],
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def run_import_job(job: Job) -> None:
    """Run a queued import job; its row records progress, then the counts or the errors.

    A queued job is claimed, or a running one whose heartbeat stopped (its worker died and the
    broker delivers the task again): the import is all or nothing and upserts on natural keys,
    so doing it again gives the same facts. A job running elsewhere, or finished, is left alone:
    a duplicate delivery does nothing.
    """
    if not job_claim(job):
        return
    job.refresh_from_db()
    dry_run = bool(job.result.get("dry_run"))

    def finish(status: str, result: dict, **fields) -> None:
        Job.objects.filter(pk=job.pk).update(
            status=status,
            finished_at=timezone.now(),
            result={"dry_run": dry_run, **result},
            **fields,
        )

    if job.requested_by is None:  # the account is gone: never import with the system's rights
        gone = _("The account that uploaded the file no longer exists.")
        finish(JobStatus.FAILED, {"detail": gone})
        return
    progress = _ProgressRecorder(job)
    try:
        with job.file.open("rb") as file:
            result = import_facts(
                kind=job.fact_kind,
                file=file,
                actor=job.requested_by,
                progress=progress,
                dry_run=dry_run,
            )
    except ImportRejected as exc:
        finish(
            JobStatus.FAILED,
            errors=exc.errors,
            result={
                "detail": exc.detail,
                "error_count": exc.error_count,
                "errors_omitted": exc.omitted,
            },
        )
    except ActionNotAllowed as exc:
        finish(JobStatus.FAILED, {"detail": exc.message})
    except Exception:
        logger.exception("import job %s failed", job.pk)
        finish(
            JobStatus.FAILED,
            result={"detail": _("The import stopped on an unexpected error; it has been logged.")},
        )
        raise
    else:
        finish(
            JobStatus.DONE,
            progress_done=result.rows,
            progress_total=result.rows,
            result=result.as_dict(),
        )
    finally:
        progress.close()
