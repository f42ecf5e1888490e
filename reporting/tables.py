"""Opening an uploaded file as a table: CSV or TSV text (UTF-8, UTF-8 with BOM, GB18030/GBK,
UTF-16 as Excel's "Unicode text"), or a workbook (XLSX, old XLS, ODS) read by python-calamine.

The kind of file is told by its content, not by its name. A file of another kind (a web page
saved as .xls, a PDF, a zip of something else) is refused in one sentence.

What a file can make the server do is bounded before anything is parsed (the IMPORT_* settings,
README's security section): a workbook's parts are decompressed once here, as a stream, counting
the bytes (a part whose zip header lies about its size fails its CRC), so a small "zip bomb" or
a 260 MB sheet is refused in a second; an XML part with a DOCTYPE or an entity is refused (no
expansion, no external fetch); and a sheet's extent (last row × last column) is measured, because
calamine holds a sheet as a dense rectangle: two cells at A1 and XFD1048576 would ask for 500 GB.
A CSV line is read with a length limit, so one line of a million columns is refused at once.

A table is an iterator of (row number, values) with row numbers as Excel shows them (the first
row is 1), values as strings; where the header row is depends on the kind of file, so the row
checks find it (`Table.take_header`). A CSV is a csv reader over a decoded text stream: nothing
here holds more than a row, a sample of bytes and the few rows above the header.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _
from python_calamine import CalamineError, CalamineWorkbook

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old binary Office files (.xls, also .doc)
CHUNK_BYTES = 1 << 20
SAMPLE_BYTES = 64 * 1024
NON_ASCII = re.compile(rb"[\x80-\xff]")
HTML_START = re.compile(rb"\s*<(?:!doctype html|html|table|head|body|meta|\?xml)", re.IGNORECASE)
HEADER_SCAN_ROWS = 30  # title lines above the header: at most this many rows are looked at


class FileError(Exception):
    """The file cannot be read as a table at all; `row` says where reading stopped."""

    def __init__(self, message: str, row: int = 1):
        super().__init__(message)
        self.message = message
        self.row = row


class LimitExceeded(FileError):
    """The file goes over one of the IMPORT_* limits: refused whole, wherever it is found."""


def limit(name: str) -> int:
    """One of the IMPORT_* limits (settings.py), read when used so tests and operators set it."""
    return getattr(settings, f"IMPORT_{name}")


def _too_large() -> LimitExceeded:
    return LimitExceeded(
        _("The workbook is larger than %(mb)d MB uncompressed: split it or save it as CSV.")
        % {"mb": limit("MAX_UNZIPPED_BYTES") >> 20}
    )


def detect_encoding(file: BinaryIO) -> str:
    """utf-8-sig or utf-16 when the file starts with a BOM, else utf-8 or, failing that,
    gb18030.

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
        return "utf-16"  # Excel's "Unicode text": tab-separated, UTF-16 with a BOM
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
    raise FileError(
        _(
            "The file is neither a spreadsheet nor text in UTF-8 or GB18030: save it from Excel "
            "as .xlsx or as CSV."
        )
    )


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
    """Rows as (row number, values) and, once found, the header; a context manager.

    Values are strings (a CSV's as the file holds them, unstripped: the row checks strip where
    they must). Reading may raise one of `read_errors`; `read_error` says it in words.
    """

    read_errors: tuple[type[Exception], ...] = (FileError,)
    format_name = "CSV"

    def __init__(self, rows: Iterator[tuple[int, list[str]]], close: Callable, size: int | None):
        self.rows = rows
        self.header: list[str] = []
        self.header_row = 1
        self._close = close
        self.estimated_rows = size

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def read_error(self, exc: Exception, row: int) -> FileError:
        return exc if isinstance(exc, FileError) else FileError(str(exc), row)

    def take_header(self, score: Callable[[list[str]], tuple[int, bool]]) -> list[str]:
        """Find the header among the first rows and make `rows` the rows after it.

        `score(values)` says how many expected columns a row names and whether it names all
        that are required: the first row that does is the header (title lines above it are
        skipped); failing that, the row naming most, or the first row that is not blank.
        """
        head: list[tuple[int, list[str]]] = []
        most = limit("MAX_COLUMNS")
        try:
            for item in self.rows:
                if len(item[1]) > most and any(v.strip() for v in item[1][most:]):
                    raise LimitExceeded(
                        _("Row %(row)d has %(n)d columns: a file has at most %(most)d.")
                        % {"row": item[0], "n": len(item[1]), "most": most},
                        item[0],
                    )
                head.append(item)
                if score(item[1])[1] or len(head) >= HEADER_SCAN_ROWS:
                    break
        except self.read_errors as exc:
            raise self.read_error(exc, len(head) + 1) from exc
        filled = [(i, item) for i, item in enumerate(head) if any(v.strip() for v in item[1])]
        if not filled:
            raise FileError(_("The file is empty."))
        scores = {i: score(item[1]) for i, item in filled}
        best = max(filled, key=lambda pair: (scores[pair[0]][1], scores[pair[0]][0], -pair[0]))
        if scores[best[0]][0] == 0:
            best = filled[0]
        index, (self.header_row, header) = best
        self.header = [name.strip() for name in header]
        self.rows = itertools.chain(head[index + 1 :], self.rows)
        if self.estimated_rows is not None:
            self.estimated_rows = max(self.estimated_rows - self.header_row, 0)
        return self.header


class CsvTable(Table):
    read_errors = (UnicodeDecodeError, csv.Error)

    def __init__(self, *args, encoding: str, delimiter: str):
        super().__init__(*args)
        self.encoding = encoding
        self.format_name = "TSV" if delimiter == "\t" else "CSV"

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
    """The table in a CSV/TSV file or the first sheet of a workbook (told apart by content)."""
    file.seek(0)
    head = file.read(1024)
    file.seek(0)
    if head.startswith(ZIP_MAGIC):
        return _open_workbook(file, _zip_format(file))
    if head.startswith(OLE_MAGIC):
        size = file.seek(0, io.SEEK_END)
        file.seek(0)
        if size > limit("MAX_UNZIPPED_BYTES"):  # an .xls is not compressed: its size is read
            raise _too_large()
        # An .xls holds at most 65,536 × 256 cells: calamine's dense sheet stays bounded.
        return _open_workbook(file, "XLS")
    refused = _refused_kind(head)
    if refused:
        raise FileError(refused)
    return _open_csv(file, estimate)


def _refused_kind(head: bytes) -> str | None:
    """One sentence for a file that is no table at all, by its first bytes."""
    if HTML_START.match(head.removeprefix(codecs.BOM_UTF8)):
        return _(
            "The file is a web page (HTML), not a spreadsheet, although it may be named .xls: "
            "open it in Excel and save it as .xlsx or CSV."
        )
    if head.startswith(b"%PDF"):
        return _("The file is a PDF document, not a table: upload the CSV or Excel export.")
    if head.startswith((b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")):
        return _("The file is a compressed archive: unpack it and upload the CSV or Excel file.")
    if head.count(b"\x00") > len(head) // 8 and not head.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        return _("The file is not a table but binary data: upload a CSV, XLSX, XLS or ODS file.")
    return None


# --- CSV and TSV ------------------------------------------------------------------------------


def _open_csv(file: BinaryIO, estimate: bool) -> Table:
    size = count_lines(file) if estimate else None
    encoding = detect_encoding(file)
    text = io.TextIOWrapper(file, encoding=encoding, newline="")
    delimiter = _delimiter(text)
    reader = csv.reader(_bounded_lines(text, limit("MAX_ROW_CHARS")), delimiter=delimiter)

    def close() -> None:
        with contextlib.suppress(ValueError):
            text.detach()  # the caller owns the binary file: do not close it with the wrapper

    # No generator around the reader: at a million rows, every step per row counts.
    return CsvTable(enumerate(reader, start=1), close, size, encoding=encoding, delimiter=delimiter)


def _bounded_lines(text: io.TextIOWrapper, most: int) -> Iterator[str]:
    """The file's lines, each read with a length limit: a line longer than `most` characters
    (a header of a million columns, one huge cell) is refused before it is split."""
    readline = text.readline
    line_no = 0
    while line := readline(most + 1):
        line_no += 1
        if len(line) > most:
            raise LimitExceeded(
                _(
                    "Line %(line)d of the file is longer than %(n)d characters: a row holds at "
                    "most %(columns)d columns and %(n)d characters."
                )
                % {"line": line_no, "n": most, "columns": limit("MAX_COLUMNS")},
                line_no,
            )
        yield line


def _delimiter(text: io.TextIOWrapper) -> str:
    """Tab when the first lines hold more tabs than commas (a TSV), else a comma."""
    try:
        sample = text.read(16 * 1024)
    except UnicodeDecodeError:
        sample = ""
    text.seek(0)
    lines = sample.splitlines()[: HEADER_SCAN_ROWS + 1]
    tabs = max((line.count("\t") for line in lines), default=0)
    commas = max((line.count(",") for line in lines), default=0)
    return "\t" if tabs > commas else ","


# --- workbooks: XLSX, XLS, ODS ----------------------------------------------------------------


def _zip_format(file: BinaryIO) -> str:
    """XLSX or ODS, once the zip's size has been checked; anything else is refused."""
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
            if len(members) > limit("MAX_ZIP_MEMBERS"):
                raise LimitExceeded(
                    _("The workbook has more than %(n)d parts: it cannot be read safely.")
                    % {"n": limit("MAX_ZIP_MEMBERS")}
                )
            if sum(member.file_size for member in members) > limit("MAX_UNZIPPED_BYTES"):
                raise _too_large()  # as the zip declares it; the stream below counts for real
            names = {member.filename for member in members}
            mimetype = archive.read("mimetype")[:80] if "mimetype" in names else b""
            if "xl/workbook.xml" in names:
                format_name = "XLSX"
            elif b"opendocument.spreadsheet" in mimetype:
                format_name = "ODS"
            else:
                format_name = ""
            if format_name:
                from .workbooks import inspect_workbook  # it imports this module

                inspect_workbook(archive, format_name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise FileError(_("The file looks like an XLSX workbook but is damaged.")) from exc
    finally:
        file.seek(0)
    if format_name:
        return format_name
    if "word/document.xml" in names or b"opendocument.text" in mimetype:
        return _refuse(_("The file is a text document (Word or Writer), not a spreadsheet."))
    return _refuse(_("The file is a zip archive, not a spreadsheet: unpack it first."))


def _refuse(message: str):
    raise FileError(message)


def _open_workbook(file: BinaryIO, format_name: str) -> Table:
    errors = (CalamineError, ValueError, OSError, TypeError)
    try:
        workbook = CalamineWorkbook.from_filelike(file)
        if not workbook.sheet_names:
            raise FileError(_("The workbook has no sheet."))
        sheet = workbook.get_sheet_by_index(0)
        first_row = (sheet.start or (0, 0))[0] + 1  # rows above the used range are not listed
        rows = sheet.iter_rows()
    except errors as exc:
        if format_name == "XLS":
            raise FileError(
                _(
                    "The file is an old Office file but not an Excel workbook that can be read "
                    "(a Word document, or protected by a password?)."
                )
            ) from exc
        raise FileError(
            _("The %(format)s workbook cannot be read: %(error)s")
            % {"format": format_name, "error": exc}
        ) from exc
    table = Table(_sheet_rows(rows, first_row), workbook.close, sheet.height)
    table.format_name = format_name
    return table


def _sheet_rows(rows, first_row: int) -> Iterator[tuple[int, list[str]]]:
    text = cell_text
    for row_no, values in enumerate(rows, start=first_row):
        yield row_no, [v if v.__class__ is str else text(v) for v in values]


def cell_text(value) -> str:
    """A cell as the text a CSV export would hold: dates in ISO form, whole numbers without
    .0, other numbers as Excel shows them (15 significant digits: 0.1 + 0.2 is 0.3)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        value = value.date()  # the columns hold days; a time of day is dropped
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(value, ".15g")
    return str(value)
