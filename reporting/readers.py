"""Reading fact files row by row: CSV (UTF-8, UTF-8 with BOM, GB18030/GBK) or XLSX, and
checking each row against what its kind of file must hold.

Nothing here holds more than a row, a sample of bytes and small bounded caches: a CSV is a csv
reader over a decoded text stream, a workbook is openpyxl in read-only mode. Row numbers are
those Excel shows: the header is row 1.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from operator import call, itemgetter
from typing import BinaryIO

from django.db import models
from django.utils.translation import gettext as _

from .choices import FactKind, VisitType
from .models import BedCapacity, InpatientStay, OutpatientVisit

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls format
CHUNK_BYTES = 1 << 20
SAMPLE_BYTES = 64 * 1024
NON_ASCII = re.compile(rb"[\x80-\xff]")


class FileError(Exception):
    """The file cannot be read as a table at all; `row` says where reading stopped."""

    def __init__(self, message: str, row: int = 1):
        super().__init__(message)
        self.message = message
        self.row = row


def detect_encoding(file: BinaryIO) -> str:
    """utf-8-sig when the file starts with a BOM, else utf-8 or, failing that, gb18030.

    The sample starts at the first non-ASCII byte, however far into the file (ASCII is the
    same in both), so a file whose first rows are plain ASCII is still judged on its Chinese.
    A multi-byte character cut at the end of the sample is not a decoding error.
    """
    file.seek(0)
    head = file.read(4)
    file.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileError(_("UTF-16 text is not supported: save the file as CSV (UTF-8)."))
    sample, more = b"", False
    while chunk := file.read(CHUNK_BYTES):
        found = NON_ASCII.search(chunk)
        if found is None:
            continue
        sample = chunk[found.start() :]
        if len(sample) < SAMPLE_BYTES:
            sample += file.read(SAMPLE_BYTES - len(sample))
        more = len(sample) > SAMPLE_BYTES or bool(file.read(1))
        sample = sample[:SAMPLE_BYTES]
        break
    file.seek(0)
    if not sample:
        return "utf-8"
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=not more)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileError(_("The file is neither UTF-8 nor GB18030 text, nor an XLSX workbook."))


def count_lines(file: BinaryIO) -> int:
    """Line breaks in the file: a cheap estimate of its rows, for a progress bar."""
    file.seek(0)
    lines = last = 0
    while chunk := file.read(CHUNK_BYTES):
        lines += chunk.count(b"\n")
        last = chunk[-1]
    file.seek(0)
    return lines + (1 if last not in (0, 0x0A) else 0)


class Table:
    """A header and an iterator of (row number, values) after it; a context manager.

    Values are strings as the file holds them (a CSV's are not stripped: the row checks strip
    where they must). Reading may raise one of `read_errors`; `read_error` says it in words.
    """

    read_errors: tuple[type[Exception], ...] = (FileError,)

    def __init__(self, header: list[str], rows: Iterator[tuple[int, list[str]]], close, size):
        self.header = header
        self.rows = rows
        self._close = close
        self.estimated_rows: int | None = size

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def read_error(self, exc: Exception, row: int) -> FileError:
        return exc if isinstance(exc, FileError) else FileError(str(exc), row)


class CsvTable(Table):
    read_errors = (UnicodeDecodeError, csv.Error)

    def __init__(self, *args, encoding: str):
        super().__init__(*args)
        self.encoding = encoding

    def read_error(self, exc: Exception, row: int) -> FileError:
        if isinstance(exc, UnicodeDecodeError):
            return FileError(
                _("The file is not valid %(encoding)s text near row %(row)d.")
                % {"encoding": self.encoding.upper().removesuffix("-SIG"), "row": row},
                row,
            )
        return FileError(
            _("Row %(row)d cannot be read: %(error)s") % {"row": row, "error": exc}, row
        )


def open_table(file: BinaryIO, *, estimate: bool = False) -> Table:
    """The table in a CSV or XLSX file (told apart by content, not by name)."""
    file.seek(0)
    magic = file.read(4)
    file.seek(0)
    if magic == XLSX_MAGIC:
        return _open_xlsx(file, estimate)
    if magic == OLE_MAGIC:
        raise FileError(_("Old .xls workbooks are not supported: save the file as .xlsx or CSV."))
    return _open_csv(file, estimate)


# --- CSV ------------------------------------------------------------------------------------


def _open_csv(file: BinaryIO, estimate: bool) -> Table:
    size = max(count_lines(file) - 1, 0) if estimate else None
    encoding = detect_encoding(file)
    text = io.TextIOWrapper(file, encoding=encoding, newline="")
    reader = csv.reader(text)

    def close() -> None:
        with contextlib.suppress(ValueError):
            text.detach()  # the caller owns the binary file: do not close it with the wrapper

    # No generator around the reader: at a million rows, every step per row counts.
    table = CsvTable([], enumerate(reader, start=2), close, size, encoding=encoding)
    try:
        header = next(reader, None)
    except CsvTable.read_errors as exc:
        close()
        raise table.read_error(exc, 1) from exc
    if header is None:
        close()
        raise FileError(_("The file is empty."))
    table.header = [name.strip() for name in header]
    return table


# --- XLSX -----------------------------------------------------------------------------------


def _open_xlsx(file: BinaryIO, estimate: bool) -> Table:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise FileError(_("The workbook cannot be opened: %(error)s") % {"error": exc}) from exc
    sheet = workbook.worksheets[0]
    size = max(sheet.max_row - 1, 0) if estimate and sheet.max_row else None
    sheet.reset_dimensions()  # a wrong <dimension> in the file would otherwise cut rows off
    rows = sheet.iter_rows(min_row=1, values_only=True)
    header = next(rows, None)
    if header is None:
        workbook.close()
        raise FileError(_("The file is empty."))
    return Table([cell_text(v) for v in header], _xlsx_rows(rows), workbook.close, size)


def _xlsx_rows(rows) -> Iterator[tuple[int, list[str]]]:
    row_no = 1
    try:
        for row_no, values in enumerate(rows, start=2):  # noqa: B007 - row_no read after the loop
            yield row_no, [cell_text(v) for v in values]
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        message = _("Row %(row)d cannot be read: %(error)s") % {"row": row_no + 1, "error": exc}
        raise FileError(message, row_no + 1) from exc


def cell_text(value) -> str:
    """A cell as the text a CSV export would hold: dates in ISO form, whole numbers without .0."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, datetime.datetime):
        value = value.date()  # the columns hold days; a time of day is dropped
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


# --- rows: what each kind of file holds, and checking one row -------------------------------


class Bad(ValueError):
    """One cell's problem, in words for the person who will fix the file."""


@dataclass(frozen=True)
class Column:
    name: str
    parse: str  # name of the cell parser: text, code, date, visit_type, count, beds, cost
    required: bool = True
    default: object = None


@dataclass(frozen=True)
class Spec:
    """One kind of file: its columns (in template order) and the model fields they fill.

    Rows become tuples in column order, the institution's id first and the rest of the
    natural key second; `span` names the columns whose years a row touches (end: None is today).
    """

    kind: str
    model: type[models.Model]
    columns: tuple[Column, ...]
    fields: tuple[str, ...]
    span: tuple[int, int | None]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def model_fields(self) -> dict[str, models.Field]:
        """The model's fields by column name (institution_id ...), in the spec's order."""
        by_column = {field.column: field for field in self.model._meta.concrete_fields}
        return {name: by_column[name] for name in self.fields}

    @property
    def key_fields(self) -> tuple[str, str]:
        return self.fields[0], self.fields[1]


def _specs() -> dict[str, Spec]:
    code = Column("institution_code", "code")
    return {
        FactKind.VISITS: Spec(
            FactKind.VISITS, OutpatientVisit,
            (code, Column("record_id", "text"), Column("visit_date", "date"),
             Column("visit_type", "visit_type", False, VisitType.OUTPATIENT.value),
             Column("department", "text", False, ""), Column("visit_count", "count", False, 1),
             Column("total_cost", "cost")),
            ("institution_id", "record_id", "visit_date", "visit_type", "department",
             "visit_count", "total_cost"),
            span=(2, 2),
        ),
        FactKind.STAYS: Spec(
            FactKind.STAYS, InpatientStay,
            (code, Column("stay_id", "text"), Column("admit_date", "date"),
             Column("discharge_date", "date", False), Column("department", "text", False, ""),
             Column("total_cost", "cost")),
            ("institution_id", "stay_id", "admit_date", "discharge_date", "department",
             "total_cost"),
            span=(2, 3),
        ),
        FactKind.BEDS: Spec(
            FactKind.BEDS, BedCapacity,
            (code, Column("effective_from", "date"), Column("open_beds", "beds")),
            ("institution_id", "effective_from", "open_beds"),
            span=(1, None),
        ),
    }  # fmt: skip


SPECS = _specs()

VISIT_TYPES = {
    "outpatient": VisitType.OUTPATIENT.value, "门诊": VisitType.OUTPATIENT.value,
    "emergency": VisitType.EMERGENCY.value, "急诊": VisitType.EMERGENCY.value,
}  # fmt: skip
LOOSE_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
PLAIN_AMOUNT = re.compile(r"(?:0|[1-9]\d{0,11})(?:\.\d{1,2})?")
SMALL_NUMBERS = {str(n): n for n in range(10_000)}  # open beds: 0 or more
COUNTS = {text: n for text, n in SMALL_NUMBERS.items() if n >= 1}  # visits: at least 1
CENT = Decimal("0.01")
MAX_COST = Decimal(10) ** 12  # DecimalField(max_digits=14, decimal_places=2)
MAX_INT = 2**31 - 1
MEMO_SIZE = 20_000  # distinct cells remembered per column (dates, departments): bounded


def messages() -> dict[str, str]:
    """The cell problems in the active language, translated once per file, not once per cell."""
    return {
        "required": _("A value is required."),
        "too_long": _("At most %(n)d characters."),
        "nul": _("Contains a NUL character."),
        "code": _("Unknown institution code %(code)s."),
        "date": _("Not a date: write it as YYYY-MM-DD."),
        "future": _("The date is in the future."),
        "visit_type": _("Write outpatient or emergency (门诊 or 急诊)."),
        "whole": _("Not a whole number."),
        "least": _("Must be a whole number of at least %(least)d."),
        "amount": _("Not an amount in yuan."),
        "decimals": _("At most two decimal places."),
        "negative": _("The cost cannot be negative."),
        "too_large": _("The amount is too large."),
        "order": _("Discharge before admission."),
    }


def cell_parsers(
    codes: dict[str, int], today: datetime.date, say: dict[str, str]
) -> dict[str, Callable]:
    """Cell parsers: each takes a non-empty string, returns the value or raises Bad(words)."""
    fromisoformat = datetime.date.fromisoformat

    def code(value: str) -> int:
        pk = codes.get(value)
        if pk is None:
            pk = codes.get(value.strip().upper())
            if pk is None:
                raise Bad(say["code"] % {"code": value.strip()[:40]})
        return pk

    def text(value: str, max_length: int = 64) -> str:
        value = value.strip()
        if not value:
            raise Bad(say["required"])
        if len(value) > max_length:
            raise Bad(say["too_long"] % {"n": max_length})
        if "\x00" in value:  # PostgreSQL text cannot hold it
            raise Bad(say["nul"])
        return value

    def date(value: str) -> datetime.date:
        try:
            day = fromisoformat(value)
        except ValueError:
            loose = LOOSE_DATE.fullmatch(value.strip())  # 2024/3/5, as Excel writes into CSV
            try:
                day = datetime.date(*map(int, loose.groups()))  # type: ignore[union-attr]
            except (AttributeError, ValueError):
                raise Bad(say["date"]) from None
        if day > today:
            raise Bad(say["future"])
        return day

    def visit_type(value: str) -> str:
        try:
            return VISIT_TYPES[value.strip().lower()]
        except KeyError:
            raise Bad(say["visit_type"]) from None

    def whole(value: str, least: int) -> int:
        value = value.strip()
        if not (value.isascii() and value.isdigit()):
            raise Bad(say["whole"])
        number = int(value)
        if not least <= number <= MAX_INT:
            raise Bad(say["least"] % {"least": least})
        return number

    def cost(value: str) -> Decimal:
        try:
            amount = Decimal(value)
            if not amount.is_finite() or "_" in value:
                raise InvalidOperation
            cents = amount.quantize(CENT)
        except (InvalidOperation, ValueError):
            raise Bad(say["amount"]) from None
        if cents != amount:
            raise Bad(say["decimals"])
        if cents < 0:
            raise Bad(say["negative"])
        if cents >= MAX_COST:
            raise Bad(say["too_large"])
        return cents

    return {
        "code": code, "text": text, "date": date, "visit_type": visit_type, "cost": cost,
        "count": partial(whole, least=1), "beds": partial(whole, least=0),
    }  # fmt: skip


def fast_parsers(spec: Spec, codes: dict[str, int], slow: dict[str, Callable]) -> list[Callable]:
    """One strict converter per column for the fast path: each raises on anything unusual.

    They take the common shapes at C speed (an exact code, a small whole number, a plain
    amount kept as its text, a date or department seen before); the slow parsers do the rest.
    """

    def plain_amount(value: str) -> str:
        if PLAIN_AMOUNT.fullmatch(value) is None:
            raise ValueError(value)
        return value  # already what the database reads: no Decimal needed

    fast = {
        "code": codes.__getitem__,
        "cost": plain_amount,
        "count": {**COUNTS, "": 1}.__getitem__,
        "beds": SMALL_NUMBERS.__getitem__,
        "visit_type": {"": VisitType.OUTPATIENT.value, **VISIT_TYPES}.__getitem__,
    }
    converters = []
    for column in spec.columns:
        parser = fast.get(column.parse)
        if parser is None:
            parser = slow[column.parse]
            if not column.required:
                parser = _or_default(parser, column.default)
            if column.parse == "date" or not column.required:  # few distinct values
                parser = _memo(parser)
        converters.append(parser)
    return converters


_MISSING = object()


def _memo(parser: Callable, size: int = MEMO_SIZE) -> Callable:
    """The parser, remembering up to `size` answers (dates, departments repeat all the time)."""
    cache: dict[str, object] = {}
    get = cache.get

    def parse(value: str):
        result = get(value, _MISSING)
        if result is _MISSING:
            result = parser(value)
            if len(cache) < size:
                cache[value] = result
        return result

    return parse


def _or_default(parser: Callable, default) -> Callable:
    def parse(value: str):
        return parser(value) if value else default

    return parse


Problems = list[tuple[str, str]]


def check_header(spec: Spec, header: list[str]) -> tuple[list[int], Problems]:
    """Where each expected column is in the file, and the header's problems (row 1)."""
    names = [name.lstrip("\ufeff").strip().lower() for name in header]
    problems = []
    for name in names:
        if name and name not in spec.column_names:
            problems.append((name[:64], _("Unknown column.")))
    positions = []
    for column in spec.columns:
        count = names.count(column.name)
        if count == 0:
            problems.append((column.name, _("Missing column.")))
        elif count > 1:
            problems.append((column.name, _("The column appears more than once.")))
        else:
            positions.append(names.index(column.name))
    return positions, problems


Parse = Callable[[list[str]], tuple[tuple | None, Problems]]


def row_parser(
    spec: Spec, header: list[str], codes: dict[str, int], today: datetime.date
) -> Parse | Problems:
    """A function checking one row (its values in file order), or the header's problems.

    It answers (row, ()) for a good row, a tuple in the spec's column order; (None, problems)
    for a bad one; (None, []) for a blank one. A row first takes the fast path (strict
    converters, no words); any doubt sends it to the slow path, which strips the cells, says
    what is wrong with each and alone decides: the fast path accepts nothing it would refuse.
    """
    positions, problems = check_header(spec, header)
    if problems:
        return problems
    pick = itemgetter(*positions)
    width = max(positions) + 1
    say = messages()
    slow_parsers = cell_parsers(codes, today, say)
    fast = fast_parsers(spec, codes, slow_parsers)
    start, end = spec.span
    ordered = end is not None and end != start  # discharge on or after admission

    def slow(values: list[str]) -> tuple[tuple | None, Problems]:
        values = [value.strip() for value in values] + [""] * (width - len(values))
        if not any(values):
            return None, []
        row, problems = [], []
        for column, value in zip(spec.columns, pick(values), strict=True):
            if not value:
                if column.required:
                    problems.append((column.name, say["required"]))
                row.append(column.default)
                continue
            try:
                row.append(slow_parsers[column.parse](value))
            except Bad as exc:
                problems.append((column.name, str(exc)))
                row.append(None)
        if not problems and ordered and row[end] is not None and row[end] < row[start]:
            problems.append((spec.columns[end].name, say["order"]))
        return (None, problems) if problems else (tuple(row), problems)

    def parse(values: list[str]) -> tuple[tuple | None, Problems]:
        try:
            row = tuple(map(call, fast, pick(values)))
        except Exception:  # noqa: BLE001 - any doubt: the slow path finds it and words it
            return slow(values)
        if ordered and row[end] is not None and row[end] < row[start]:
            return slow(values)
        return row, ()

    return parse


class ErrorReport:
    """Row problems in row order, the first `limit` kept, and how many rows were bad."""

    def __init__(self, limit: int = 1000):
        self.limit = limit
        self.bad_rows = 0
        self.errors: list[dict] = []

    def __bool__(self) -> bool:
        return self.bad_rows > 0

    def add(self, row: int, problems: list[tuple[str, str]]) -> None:
        self.bad_rows += 1
        for column, message in problems:
            if len(self.errors) < self.limit:
                self.errors.append({"row": row, "column": column, "message": message})

    def merge(self, others: list[dict], count: int) -> None:
        """Add problems found later (duplicates found in SQL), keeping row order and the cap."""
        self.bad_rows += count
        self.errors = sorted(self.errors + others, key=lambda e: e["row"])[: self.limit]

    def as_list(self) -> list[dict]:
        return list(self.errors)
