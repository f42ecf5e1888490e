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
"""

from __future__ import annotations

import csv
import datetime
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import BinaryIO

from django.core.files.base import File
from django.db import (
    DEFAULT_DB_ALIAS,
    IntegrityError,
    connection,
    connections,
    models,
    transaction,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alliance.models import Institution
from core import outbox
from core.access import profile_of
from core.errors import ActionNotAllowed, IllegalTransition

from .. import readers, tasks
from ..choices import FactKind, JobKind, JobStatus
from ..models import Job
from ..readers import (
    SPECS,
    TOTAL,
    ErrorReport,
    Parse,
    Spec,
    check_header,
    header_score,
    row_parser,
)
from ..tables import limit
from . import preview as previews
from .jobs import job_claim

logger = logging.getLogger(__name__)

ERROR_LIMIT = 1000
PROGRESS_EVERY = 10_000  # rows between two progress reports
DIRECT_BATCH = 200_000  # rows per COPY into the fact table: a conflict wastes at most one
LOCK_SPACE = 0x4D454446  # pg_advisory_xact_lock(LOCK_SPACE, kind) while importing a file

Progress = Callable[[int, int | None], None]
Rows = Iterable[tuple[int, tuple | None]]
Merged = tuple[int, int, set[tuple[int, int, int]]]  # created, updated, spans of old rows


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


class ImportRejected(Exception):
    """The file was rejected whole; `errors` are {row, column, message}, at most ERROR_LIMIT,
    and `errors_omitted` says how many more problems were found but not listed."""

    def __init__(self, detail: str, errors: list[dict], error_count: int, omitted: int = 0):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.error_count = error_count
        self.omitted = omitted

    def as_dict(self) -> dict:
        return {
            "detail": self.detail,
            "error_count": self.error_count,
            "errors": self.errors,
            "errors_omitted": self.omitted,
        }


class _Merge(Exception):
    """The direct COPY could not take the file as it is: merge it through staging instead."""


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
            except _Merge:
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
            _check_deadline(deadline)  # a workbook is loaded whole by open_table
            table.take_header(header_score(spec))
            header = check_header(spec, table.header)
            if header.problems:
                raise _header_rejected(spec, header, table.header_row)
            report.labels = header.labels
            parse = row_parser(spec, header, codes, today)
            stream = RowStream(table, parse, spec, report, today, progress, header, deadline)
            merged = writer_class(spec, report, today, totals).write(stream)
            _check_deadline(deadline)
    except readers.FileError as exc:
        raise _file_rejected(exc) from exc
    if merged is None:
        raise _rows_rejected(report)
    if stream.rows == stream.blank_rows + len(stream.total_rows):
        message = _("The file has no data rows.")
        row = table.header_row + 1
        raise ImportRejected(message, [report.entry(row, "", "", message)], 1)
    return merged, stream


def _check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise readers.LimitExceeded(
            _(
                "The import took longer than %(n)d seconds and was stopped: nothing was written. "
                "Split the file into smaller ones."
            )
            % {"n": limit("MAX_SECONDS")}
        )


class RowStream:
    """The file's rows, checked: iterating yields (row number, row), row None when bad, blank
    or a total row. Problems go to the report; the years each good row touches are kept as
    spans, and its month's amount in `tally` {(institution, year, month): [amount, rows]}.
    Every PROGRESS_EVERY rows it reports progress and checks the row limit and the deadline."""

    def __init__(
        self,
        table,
        parse: Parse,
        spec: Spec,
        report,
        today,
        progress,
        header,
        deadline: float = float("inf"),
    ):
        self.table, self.parse, self.spec, self.report = table, parse, spec, report
        self.today, self.progress, self.header = today, progress, header
        self.deadline = deadline
        self.spans: set[tuple[int, int, int]] = set()  # (institution, first year, last year)
        self.tally: dict[tuple[int, int, int], list[int]] = {}
        self.rows = 0
        self.blank_rows = 0
        self.total_rows: list[int] = []

    def __iter__(self) -> Iterator[tuple[int, tuple | None]]:
        # The hot loop: a million rows should take seconds, so nothing here is spare.
        parse, add_problems, add_span = self.parse, self.report.add, self.spans.add
        first, last = self.spec.span
        # A kind without a month (Spec.month "") has no month totals in its preview.
        month = self.spec.fields.index(self.spec.month) if self.spec.month else None
        amount = self.spec.fields.index(self.spec.amount) if self.spec.amount else None
        tally, tally_get = self.tally, self.tally.get
        today, progress, total = self.today, self.progress, self.table.estimated_rows
        most_rows, deadline = limit("MAX_ROWS"), self.deadline
        if progress is not None:
            progress(0, total)
        row_no = header_row = self.table.header_row
        try:
            for row_no, values in self.table.rows:  # noqa: B007 - row_no is read afterwards
                row, problems = parse(values)
                if row is not None:
                    year = row[first].year
                    if last == first:
                        add_span((row[0], year, year))
                    else:  # a stay still open, or a bed count, lasts until today
                        end = row[last] if last is not None else None
                        add_span((row[0], year, (end or today).year))
                    day = row[month] if month is not None else None
                    if day is not None:
                        key = (row[0], day.year, day.month)
                        counted = tally_get(key)
                        if counted is None:
                            counted = tally[key] = [0, 0]
                        counted[0] += 1 if amount is None else row[amount]
                        counted[1] += 1
                elif problems is TOTAL:
                    self.total_rows.append(row_no)
                elif problems:
                    add_problems(row_no, problems)
                else:
                    self.blank_rows += 1
                if row_no % PROGRESS_EVERY == 1:  # every 10,000 rows read
                    self._check(row_no - header_row, most_rows, deadline)
                    if progress is not None:
                        progress(row_no - header_row, total)
                yield row_no, row
        except self.table.read_errors as exc:
            if isinstance(exc, readers.LimitExceeded):
                raise
            error = self.table.read_error(exc, row_no + 1)
            add_problems(error.row, [("", "", error.message)])
        self.rows = row_no - header_row
        self._check(self.rows, most_rows, deadline)
        if progress is not None:
            progress(self.rows, total)

    @staticmethod
    def _check(rows: int, most_rows: int, deadline: float) -> None:
        if rows > most_rows:
            raise readers.LimitExceeded(
                _("The file has more than %(n)d rows: split it into smaller files.")
                % {"n": most_rows}
            )
        _check_deadline(deadline)

    def warnings(self) -> list[str]:
        """What was read but left aside: title lines, columns of no use, total rows."""
        said = []
        if self.table.header_row > 1:
            said.append(
                _("The header is row %(row)d: the %(n)d lines above it were skipped as titles.")
                % {"row": self.table.header_row, "n": self.table.header_row - 1}
            )
        if self.header.ignored:
            said.append(
                _("Columns ignored (not part of this kind of file): %(columns)s.")
                % {"columns": "、".join(self.header.ignored[:20])}
            )
        if self.total_rows:
            rows = "、".join(str(n) for n in self.total_rows[:20])
            more = "…" if len(self.total_rows) > 20 else ""
            said.append(
                _("Total rows skipped (合计/总计/小计): row %(rows)s.") % {"rows": rows + more}
            )
        return said


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


def _file_rejected(exc: readers.FileError) -> ImportRejected:
    entry = {
        "row": exc.row,
        "column": "",
        "value": "",
        "problem": exc.message,
        "message": exc.message,
    }
    return ImportRejected(exc.message, [entry], 1)


def _header_rejected(spec: Spec, header, row: int) -> ImportRejected:
    report = ErrorReport(ERROR_LIMIT)
    errors = [report.entry(row, column, "", problem) for column, problem in header.problems]
    detail = _("The header row (row %(row)d) does not have the expected columns: %(columns)s.") % {
        "row": row,
        "columns": ", ".join(c.name for c in spec.columns if c.required),
    }
    return ImportRejected(detail, errors, 1)


def _rows_rejected(report: ErrorReport) -> ImportRejected:
    detail = ngettext(
        "%(count)d row has errors: nothing was imported.",
        "%(count)d rows have errors: nothing was imported.",
        report.bad_rows,
    ) % {"count": report.bad_rows}
    if report.omitted:
        detail += " " + ngettext(
            "The first %(listed)d problems are listed; %(more)d more is not.",
            "The first %(listed)d problems are listed; %(more)d more are not.",
            report.omitted,
        ) % {"listed": len(report.errors), "more": report.omitted}
    return ImportRejected(detail, report.as_list(), report.bad_rows, report.omitted)


def _duplicate(spec: Spec, first_row: int, value) -> tuple[str, str, str]:
    column = spec.columns[1].name
    value = value.isoformat() if isinstance(value, datetime.date) else str(value)
    message = readers.messages()["duplicate"] % {
        "value": readers.shown(value),
        "row": first_row,
        "column": column,
    }
    return column, value, message


# --- writing on PostgreSQL: COPY ---------------------------------------------------------------


class _Lines(list):
    write = list.append  # a csv.writer target collecting lines


class _CopySource:
    """What COPY reads: the next `limit` rows of the stream as CSV text, made on demand, so
    PostgreSQL stores one chunk while Python checks the next (two cores at work, flat memory).
    Staging rows lead with their row number. It stops early once `stop_on` holds a problem."""

    CHUNK_ROWS = 500

    def __init__(self, rows: Iterator, limit: int, last_row: int, *, numbered: bool, stop_on=None):
        self.rows, self.left, self.last_row = rows, limit, last_row
        self.numbered, self.stop_on = numbered, stop_on
        self.exhausted = False
        self.written = 0
        self.failure: Exception | None = None  # a limit met while reading: raised after COPY
        self.lines = _Lines()
        self.writerow = csv.writer(self.lines, lineterminator="\n").writerow

    def read(self, size: int = -1) -> str:
        # An exception raised in here would reach the caller as psycopg's "COPY failed":
        # a limit met while reading ends this COPY instead, and `_copy` raises it.
        try:
            return self._read()
        except readers.LimitExceeded as exc:
            self.failure = exc
            return ""

    def _read(self) -> str:
        lines, writerow = self.lines, self.writerow
        while not lines and self.left and not self.exhausted:
            if self.stop_on:
                return ""
            wanted = min(self.CHUNK_ROWS, self.left)
            row_no = self.last_row
            if self.numbered:
                for row_no, row in islice(self.rows, wanted):  # noqa: B007
                    if row is not None:
                        writerow((row_no, *row))
            else:
                for row_no, row in islice(self.rows, wanted):  # noqa: B007
                    if row is not None:
                        writerow(row)
            seen = row_no - self.last_row  # every row is yielded: the numbers are consecutive
            self.exhausted = seen < wanted
            self.last_row, self.left = row_no, self.left - seen
        self.written += len(lines)
        text = "".join(lines)
        lines.clear()
        return text  # "" ends this COPY


def _copy(sql: str, source: _CopySource) -> None:
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if hasattr(cursor, "copy_expert"):  # psycopg2 (size positional: DEBUG wraps it)
            cursor.copy_expert(sql, source, 65536)
        else:  # psycopg 3
            with cursor.copy(sql) as copy:
                while text := source.read():
                    copy.write(text)
    if source.failure is not None:  # the import's transaction is rolled back by the caller
        raise source.failure


def _copy_sql(spec: Spec, table: str, with_row_no: bool) -> str:
    # An empty text is '', not NULL; an empty date stays NULL (a stay not yet discharged).
    texts = [n for n, f in spec.model_fields.items() if isinstance(f, models.CharField)]
    not_null = f", FORCE_NOT_NULL ({', '.join(texts)})" if texts else ""
    columns = ("row_no, " if with_row_no else "") + ", ".join(spec.fields)
    return f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv{not_null})"


class DirectWriter:
    """The fast path for a file of new rows: COPY straight into the fact table, in a savepoint,
    while Python checks the next rows. A key that exists already (or twice in the file) breaks
    the unique index, a bad row stops the COPY: either way the savepoint is rolled back and
    `_Merge` sends the file through staging, which says what is wrong or merges it."""

    def __init__(self, spec: Spec, report: ErrorReport, today: datetime.date, totals=None):
        self.spec, self.report = spec, report

    def write(self, rows: Rows) -> Merged:
        sql = _copy_sql(self.spec, self.spec.model._meta.db_table, with_row_no=False)
        rows, last_row, created = iter(rows), 1, 0
        batch = 1_000  # a re-imported file conflicts on its first rows: find out quickly
        try:
            with transaction.atomic():
                while True:
                    source = _CopySource(rows, batch, last_row, numbered=False, stop_on=self.report)
                    _copy(sql, source)
                    if self.report:
                        raise _Merge
                    created += source.written
                    last_row, batch = source.last_row, DIRECT_BATCH
                    if source.exhausted:
                        break
        except IntegrityError as exc:
            raise _Merge from exc
        return created, 0, set()


class StagingWriter:
    """Rows go by COPY into a TEMP staging table, with their row numbers. A rejected file gets
    its duplicate keys listed in SQL (its other problems are known already); a good one is
    merged: new keys by one INSERT ... SELECT, changed rows by one UPDATE ... FROM, rows
    identical to what is stored are left alone.

    Why not one INSERT ... ON CONFLICT DO UPDATE: its speculative insertion made a million-row
    import a third slower, and it rewrites every row of a re-imported file even when nothing
    changed. Facts have no other writer, and imports of a kind hold an advisory lock. Keys twice
    in the file break the INSERT (unique index) or show in the join with stored rows.

    The SQL is built from model metadata and a random table name only (hence the S608 noqa);
    every value from the file travels as COPY data.
    """

    def __init__(self, spec: Spec, report: ErrorReport, today: datetime.date, totals=None):
        self.spec, self.report, self.today, self.totals = spec, report, today, totals
        self.staging = f"import_staging_{uuid.uuid4().hex[:12]}"
        self.table = spec.model._meta.db_table
        self.fields = ", ".join(spec.fields)
        self.key = " AND ".join(f"f.{name} = s.{name}" for name in spec.key_fields)

    def write(self, rows: Rows) -> Merged | None:
        fields = self.spec.model_fields
        columns = ", ".join(f"{name} {fields[name].db_type(connection)}" for name in fields)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE {self.staging} (row_no integer, {columns}) ON COMMIT DROP"
            )
        source = _CopySource(iter(rows), 1 << 62, 1, numbered=True)
        _copy(_copy_sql(self.spec, self.staging, with_row_no=True), source)
        if self.totals is not None and not self.report:
            self.totals.before_merge(rows.tally)  # the file is read: its months are known
        with connection.cursor() as cursor:
            try:
                return self._merge(cursor)
            finally:
                cursor.execute(f"DROP TABLE IF EXISTS {self.staging}")

    def _merge(self, cursor) -> Merged | None:
        if self.report:  # rejected already: list the duplicates too, as the plain path does
            self._report_duplicates(cursor)
            return None
        old_spans, matched, distinct = self._existing(cursor)
        if matched > distinct:  # one stored row matched by two rows of the file
            self._report_duplicates(cursor)
            return None
        try:
            with transaction.atomic():
                cursor.execute(self._insert_sql(only_new=matched > 0))
                created = cursor.rowcount
        except IntegrityError:
            self._report_duplicates(cursor)
            if not self.report:
                raise
            return None
        if matched:
            cursor.execute(self._update_sql())
        return created, matched, old_spans

    def _existing(self, cursor) -> tuple[set[tuple[int, int, int]], int, int]:
        """The spans of the stored rows about to be updated (their old years change too), how
        many rows of the file match one, and how many distinct stored rows they match."""
        start, end = self.spec.span
        first = f"f.{self.spec.fields[start]}"
        last = "%(today)s" if end is None else f"f.{self.spec.fields[end]}"
        if end is not None and end != start:
            last = f"COALESCE({last}, %(today)s)"
        cursor.execute(
            f"SELECT f.institution_id, EXTRACT(YEAR FROM {first})::int,"  # noqa: S608
            f" EXTRACT(YEAR FROM {last})::int, count(*), count(DISTINCT f.id)"
            f" FROM {self.table} f JOIN {self.staging} s ON {self.key} GROUP BY 1, 2, 3",
            {"today": self.today},
        )
        spans, matched, distinct = set(), 0, 0
        for institution_id, first_year, last_year, count, count_distinct in cursor.fetchall():
            spans.add((institution_id, first_year, last_year))
            matched += count
            distinct += count_distinct
        return spans, matched, distinct

    def _insert_sql(self, only_new: bool) -> str:
        new = f" WHERE NOT EXISTS (SELECT 1 FROM {self.table} f WHERE {self.key})"  # noqa: S608
        return (
            f"INSERT INTO {self.table} ({self.fields})"  # noqa: S608
            f" SELECT {self.fields} FROM {self.staging} s{new if only_new else ''}"
        )

    def _update_sql(self) -> str:
        values = self.spec.fields[self.spec.keys :]
        return (
            f"UPDATE {self.table} f SET "  # noqa: S608
            + ", ".join(f"{name} = s.{name}" for name in values)
            + f" FROM {self.staging} s WHERE {self.key} AND"
            f" ({', '.join(f'f.{n}' for n in values)})"
            f" IS DISTINCT FROM ({', '.join(f's.{n}' for n in values)})"
        )

    def _report_duplicates(self, cursor) -> None:
        key = ", ".join(self.spec.key_fields)
        cursor.execute(
            f"SELECT row_no, first_row, count(*) OVER (), value FROM ("  # noqa: S608
            f" SELECT row_no, min(row_no) OVER (PARTITION BY {key}) AS first_row,"
            f" {self.spec.key_fields[1]} AS value"
            f" FROM {self.staging}) d WHERE row_no > first_row ORDER BY row_no LIMIT %s",
            [self.report.limit],
        )
        found = cursor.fetchall()
        problems = []
        for row_no, first_row, _count, value in found:
            problems.append(self.report.entry(row_no, *_duplicate(self.spec, first_row, value)))
        self.report.merge(problems, found[0][2] if found else 0)


# --- writing elsewhere (SQLite) ------------------------------------------------------------------


class PlainWriter:
    """Bulk upserts in batches (inside the import's transaction, which a rejected file rolls
    back). The keys seen are kept in memory to find duplicates: fine at development sizes."""

    BATCH = 2_000

    def __init__(self, spec: Spec, report: ErrorReport, today: datetime.date, totals=None):
        self.spec, self.report, self.today = spec, report, today
        self.seen: dict[tuple, int] = {}
        self.batch: list[tuple] = []
        self.created = self.updated = 0
        self.old_spans: set[tuple[int, int, int]] = set()

    def write(self, rows: Rows) -> Merged | None:
        for row_no, row in rows:
            if row is not None:
                self._add(row_no, row)
        if self.report:
            return None
        self._flush()
        return self.created, self.updated, self.old_spans

    def _add(self, row_no: int, row: tuple) -> None:
        first = self.seen.setdefault(row[: self.spec.keys], row_no)
        if first != row_no:
            self.report.add(row_no, [_duplicate(self.spec, first, row[1])])
        elif not self.report:  # once the file is rejected, writing more is wasted
            self.batch.append(row)
            if len(self.batch) >= self.BATCH:
                self._flush()

    def _flush(self) -> None:
        if not self.batch:
            return
        spec = self.spec
        n, start, end = spec.keys, *spec.span
        keys = {row[:n] for row in self.batch}
        existing = spec.model.objects.filter(
            **{f"{name}__in": {k[i] for k in keys} for i, name in enumerate(spec.key_fields)}
        ).values_list(*spec.key_fields, spec.fields[start], spec.fields[end or start])
        matched = 0
        for *key_values, first, last in existing:
            institution_id = key_values[0]
            if tuple(key_values) in keys:
                matched += 1
                last = self.today if end is None else (last or self.today)
                self.old_spans.add((institution_id, first.year, last.year))
        self.created += len(self.batch) - matched
        self.updated += matched
        spec.model.objects.bulk_create(
            [spec.model(**dict(zip(spec.fields, row, strict=True))) for row in self.batch],
            update_conflicts=True,
            unique_fields=["institution", *spec.key_fields[1:]],
            update_fields=list(spec.fields[n:]),
        )
        self.batch = []


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
