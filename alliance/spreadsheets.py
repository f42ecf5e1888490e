"""What every CSV and XLSX export writes through, so a cell can never be read as a formula.

A spreadsheet program runs text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
as a formula (OWASP: CSV injection): a failed-login username `=HYPERLINK(...)` would become a
link in the auditor's CSV. Such text is written with a leading apostrophe, which Excel, WPS and
LibreOffice show as plain text. Only text is escaped: a negative number written as a number
stays a number.

Every export uses `csv_writer` (or `neutralise` for an XLSX cell) and none calls `csv.writer`
on its own; tests/alliance/test_spreadsheets.py holds the rule. The CSV an import streams into
PostgreSQL's COPY and the files the bench generates are not exports: no one opens them.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = codecs.BOM_UTF8.decode()  # Excel on Windows reads a CSV as UTF-8 only with it


def neutralise(value: Any) -> Any:
    """The value, with a leading apostrophe if it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CSVWriter:
    """`csv.writer` whose every cell goes through `neutralise`; `None` is an empty cell."""

    def __init__(self, target, **kwargs):
        kwargs.setdefault("lineterminator", "\r\n")
        self._writer = csv.writer(target, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow(["" if v is None else neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(target, **kwargs) -> CSVWriter:
    return CSVWriter(target, **kwargs)


class Echo:
    """A file-like target that hands back what is written: for streamed CSV responses."""

    def write(self, value: str) -> str:
        return value
