"""The rows of a file being imported, checked as they stream (RowStream), and the rejections
built from what the checks found (ImportRejected)."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import readers
from ..cells import messages, shown
from ..readers import TOTAL, ErrorReport, Parse
from ..specs import Spec
from ..tables import limit

ERROR_LIMIT = 1000
PROGRESS_EVERY = 10_000  # rows between two progress reports


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


def check_deadline(deadline: float) -> None:
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
        check_deadline(deadline)

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


def file_rejected(exc: readers.FileError) -> ImportRejected:
    entry = {
        "row": exc.row,
        "column": "",
        "value": "",
        "problem": exc.message,
        "message": exc.message,
    }
    return ImportRejected(exc.message, [entry], 1)


def header_rejected(spec: Spec, header, row: int) -> ImportRejected:
    report = ErrorReport(ERROR_LIMIT)
    errors = [report.entry(row, column, "", problem) for column, problem in header.problems]
    detail = _("The header row (row %(row)d) does not have the expected columns: %(columns)s.") % {
        "row": row,
        "columns": ", ".join(c.name for c in spec.columns if c.required),
    }
    return ImportRejected(detail, errors, 1)


def rows_rejected(report: ErrorReport) -> ImportRejected:
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


def duplicate_problem(spec: Spec, first_row: int, value) -> tuple[str, str, str]:
    column = spec.columns[1].name
    value = value.isoformat() if isinstance(value, datetime.date) else str(value)
    message = messages()["duplicate"] % {
        "value": shown(value),
        "row": first_row,
        "column": column,
    }
    return column, value, message
