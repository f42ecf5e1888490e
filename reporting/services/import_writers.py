"""Storing the checked rows of an import: COPY straight into the fact table (DirectWriter) or
through a staging table merged in SQL (StagingWriter) on PostgreSQL; bulk upserts elsewhere
(PlainWriter)."""

from __future__ import annotations

import csv
import datetime
import uuid
from collections.abc import Iterable, Iterator
from itertools import islice

from django.db import IntegrityError, connection, models, transaction

from .. import readers
from ..readers import ErrorReport
from ..specs import Spec
from .import_rows import duplicate_problem

DIRECT_BATCH = 200_000  # rows per COPY into the fact table: a conflict wastes at most one


Rows = Iterable[tuple[int, tuple | None]]
Merged = tuple[int, int, set[tuple[int, int, int]]]  # created, updated, spans of old rows


class NeedsMerge(Exception):
    """The direct COPY could not take the file as it is: merge it through staging instead."""


# --- writing on PostgreSQL: COPY ---------------------------------------------------------------


class _Lines(list):
    write = list.append  # a csv.writer target collecting lines


class CopySource:
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


def _copy(sql: str, source: CopySource) -> None:
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
    `NeedsMerge` sends the file through staging, which says what is wrong or merges it."""

    def __init__(self, spec: Spec, report: ErrorReport, today: datetime.date, totals=None):
        self.spec, self.report = spec, report

    def write(self, rows: Rows) -> Merged:
        sql = _copy_sql(self.spec, self.spec.model._meta.db_table, with_row_no=False)
        rows, last_row, created = iter(rows), 1, 0
        batch = 1_000  # a re-imported file conflicts on its first rows: find out quickly
        try:
            with transaction.atomic():
                while True:
                    source = CopySource(rows, batch, last_row, numbered=False, stop_on=self.report)
                    _copy(sql, source)
                    if self.report:
                        raise NeedsMerge
                    created += source.written
                    last_row, batch = source.last_row, DIRECT_BATCH
                    if source.exhausted:
                        break
        except IntegrityError as exc:
            raise NeedsMerge from exc
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
        source = CopySource(iter(rows), 1 << 62, 1, numbered=True)
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
            problems.append(
                self.report.entry(row_no, *duplicate_problem(self.spec, first_row, value))
            )
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
            self.report.add(row_no, [duplicate_problem(self.spec, first, row[1])])
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
