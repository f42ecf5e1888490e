"""Checking a zipped workbook (XLSX, ODS) before calamine opens it.

Every part is decompressed once, as a stream of 1 MB chunks, and counted: the total and the
shared strings against their limits (a zip header that lies about a part's size is caught by
the part's CRC when the stream ends early), each XML part for a DOCTYPE or an entity
declaration (refused: calamine would not expand them, but a 400 naming the problem beats an
XmlError), and each sheet for its extent. calamine holds a sheet as a dense rectangle of its
first to its last cell, so the extent, not the file size, is what a sheet costs in memory.

An XLSX sheet names its cells (`<c r="B12">`): the largest row and column named give the
extent, read with a regular expression over the bytes. Most sheets are narrow and plainly
written: a segment whose every cell is `<c r="` + one letter + a row number at most
MAX_SHEET_CELLS ÷ 26 (and MAX_ROWS) is within both limits whatever its cells, so one regular
expression search that finds no other `<c` tag passes it; if the other segments then name a
row or a column beyond that bound, the sheet is read again and measured cell by cell. A cell
without a name would be placed after the one before it, so a sheet whose cells are not all
named is refused (Excel, WPS, LibreOffice and every library writing XLSX name them). ODS has
no names but repeat counts (`table:number-rows-repeated`), so its content is walked with expat,
counting rows and columns as calamine will; empty repeated rows and cells, which LibreOffice
writes to the sheet's end, cost nothing and are not counted.
"""

from __future__ import annotations

import functools
import re
import zipfile
from xml.parsers import expat

from django.utils.translation import gettext as _

from .tables import CHUNK_BYTES, LimitExceeded, _too_large, limit

DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
# The cells as Excel, WPS, LibreOffice and the libraries write them: <c r="B12" ...>. Counted
# and read at C speed; a segment with any other spelling goes through the general patterns.
PLAIN_TAGS = (b"<c ", b"<c>", b"<c/", b"<c\t", b"<c\n", b"<c\r")
PLAIN_REF = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"')
DIGITS, LETTERS = b"0123456789", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
CELL_REF = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?c\s[^>]{0,2000}?\br\s*=\s*[\"']([A-Za-z]{1,4})([0-9]{1,9})"
)
NARROW = 26  # columns A to Z: one letter
TAG_BYTES = 4096  # a tag cut at a chunk's end is carried into the next segment if shorter
SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")
TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def _declaration_refused() -> LimitExceeded:
    return LimitExceeded(
        _(
            "The workbook contains an XML document type declaration (DOCTYPE or ENTITY), which a "
            "spreadsheet never needs: it is refused. Open it in Excel and save it again as .xlsx."
        )
    )


def _extent_refused(rows: int, columns: int) -> LimitExceeded:
    return LimitExceeded(
        _(
            "The sheet spans %(rows)d rows × %(columns)d columns, more than %(cells)d cells: "
            "delete the empty rows and columns around the data or save it as CSV."
        )
        % {"rows": rows, "columns": columns, "cells": limit("MAX_SHEET_CELLS")}
    )


def inspect_workbook(archive: zipfile.ZipFile, format_name: str) -> None:
    """Raise LimitExceeded if the workbook goes over a limit or declares a DTD."""
    most, most_strings = limit("MAX_UNZIPPED_BYTES"), limit("MAX_SHARED_STRINGS_BYTES")
    total = 0
    ods_cells = 0
    for member in archive.infolist():
        if member.is_dir():
            continue
        name = member.filename
        sheet = format_name == "XLSX" and SHEET_PART.fullmatch(name) is not None
        shared_strings = name.lower().endswith("sharedstrings.xml")
        ods = _OdsExtent() if format_name == "ODS" and name == "content.xml" else None
        extent = _XlsxExtent() if sheet else None
        size, carry = 0, b""
        with archive.open(member) as part:
            while True:
                chunk = part.read(CHUNK_BYTES)
                size += len(chunk)
                total += len(chunk)
                if total > most:
                    raise _too_large()
                if shared_strings and size > most_strings:
                    raise LimitExceeded(
                        _(
                            "The workbook's shared texts are larger than %(mb)d MB uncompressed: "
                            "save it as CSV."
                        )
                        % {"mb": most_strings >> 20}
                    )
                if size == len(chunk) and chunk[:2] in (b"\xff\xfe", b"\xfe\xff"):
                    raise LimitExceeded(_("The workbook has parts that are not UTF-8 XML."))
                segment, carry = _segment(carry, chunk)
                if DECLARATION.search(segment):
                    raise _declaration_refused()
                if extent is not None:
                    extent.feed(segment)
                if ods is not None and chunk:
                    ods.feed(chunk)
                if not chunk:
                    break
        if extent is not None and not extent.check():
            _measured(archive, member).check()  # beyond the narrow bound: cell by cell
        if ods is not None:
            ods_cells += ods.close()
    if ods_cells > limit("MAX_SHEET_CELLS"):
        raise LimitExceeded(
            _(
                "The workbook's sheets span more than %(cells)d cells: delete the empty rows and "
                "columns around the data or save it as CSV."
            )
            % {"cells": limit("MAX_SHEET_CELLS")}
        )


def _segment(carry: bytes, chunk: bytes) -> tuple[bytes, bytes]:
    """The next segment and what is carried into the one after. Segments end before the last
    "<" (a tag is never cut in two) unless it is far back: what a segment holds is counted
    once, with no overlap. An empty chunk (the part's end) gives the rest."""
    data = carry + chunk
    cut = data.rfind(b"<", max(len(data) - TAG_BYTES, 0)) if chunk else -1
    return (data[:cut], data[cut:]) if cut >= 0 else (data, b"")


def _measured(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> _XlsxExtent:
    """A sheet read again, every cell's row and column measured (its size is already known to
    be within the limits)."""
    extent = _XlsxExtent(narrow=False)
    carry = b""
    with archive.open(member) as part:
        while True:
            chunk = part.read(CHUNK_BYTES)
            segment, carry = _segment(carry, chunk)
            extent.feed(segment)
            if not chunk:
                return extent


@functools.lru_cache(maxsize=8)
def _outside_narrow(rows: int) -> re.Pattern:
    """A tag `<c...` other than `<c r="` + one letter + a row from 1 to `rows` + `"` (other
    tags starting so, <col> or <cfRule>, send their segment the measured way too)."""
    return re.compile(rb'<c(?! r="[A-Z]' + _at_most(rows) + rb'")')


def _at_most(number: int) -> bytes:
    """A pattern of the decimal numbers from 1 to `number` (no leading zero)."""
    digits = str(number)
    width = len(digits)
    shorter = [rb"[1-9][0-9]{0,%d}" % (width - 2)] if width > 1 else []
    same_width = []
    for at, digit in enumerate(map(int, digits)):
        lowest = 1 if at == 0 else 0
        if digit > lowest:  # the same first digits, then a smaller one, then any
            rest = width - at - 1
            same_width.append(
                digits[:at].encode()
                + b"[%d-%d]" % (lowest, digit - 1)
                + (rb"[0-9]{%d}" % rest if rest else b"")
            )
    return b"(?:" + b"|".join([*shorter, *same_width, digits.encode()]) + b")"


class _XlsxExtent:
    """The largest row and column an XLSX sheet names, and whether every cell is named.

    `narrow`: a segment whose cells are all plainly named within A–Z and the narrow row bound
    is passed by one search (`bounded`); check() then answers False when the rest of the sheet goes
    beyond that bound, and the sheet must be measured cell by cell."""

    def __init__(self, narrow: bool = True):
        self.rows = self.columns = self.cells = self.named = 0
        self.letters: set[bytes] = set()
        self.bounded = False
        self.narrow_rows = min(limit("MAX_ROWS"), limit("MAX_SHEET_CELLS") // NARROW)
        self.outside = _outside_narrow(self.narrow_rows) if narrow and self.narrow_rows else None

    def feed(self, segment: bytes) -> None:
        if (
            self.outside is not None
            and b":c" not in segment
            and self.outside.search(segment) is None
        ):  # every cell plainly named, in A–Z, on a row within the narrow bound: all named
            self.bounded = self.bounded or b"<c" in segment
            return
        refs = PLAIN_REF.findall(segment)
        cells = segment.count(b"<c")  # <col>, <cfRule>... too: then counted precisely
        if cells != len(refs):
            cells = sum(map(segment.count, PLAIN_TAGS))
        if len(refs) == cells and b":c" not in segment:  # every cell plainly named
            self.cells += cells
            self.named += cells
            if refs:  # B12 C12 → letters and row numbers, split at C speed
                joined = b" ".join(refs)
                self.letters.update(joined.translate(None, DIGITS).split())
                self.rows = max(self.rows, max(map(int, joined.translate(None, LETTERS).split())))
        else:  # prefixed tags, other attribute orders or quotes, unnamed cells: slowly
            self.cells += len(CELL_TAG.findall(segment))
            for letters, row in CELL_REF.findall(segment):
                self.named += 1
                self.letters.add(letters)
                self.rows = max(self.rows, int(row))
        if len(self.letters) > 1000:  # fold them now and then: few distinct columns in a sheet
            self._fold()

    def _fold(self) -> None:
        for letters in self.letters:
            number = 0
            for letter in letters.upper():
                number = number * 26 + letter - 64
            self.columns = max(self.columns, number)
        self.letters.clear()

    def check(self) -> bool:
        """Raise LimitExceeded if the sheet is over a limit; False if it cannot tell (the
        bounded segments' extent is needed: measure the sheet cell by cell)."""
        self._fold()
        if self.named < self.cells:
            raise LimitExceeded(
                _(
                    'The sheet has cells without a reference (r="A1"): open it in Excel and '
                    "save it again as .xlsx."
                )
            )
        if self.bounded and (self.rows > self.narrow_rows or self.columns > NARROW):
            return False
        if self.rows > limit("MAX_ROWS"):
            raise LimitExceeded(
                _("The sheet has %(rows)d rows: a file has at most %(most)d.")
                % {"rows": self.rows, "most": limit("MAX_ROWS")}
            )
        if self.rows * self.columns > limit("MAX_SHEET_CELLS"):
            raise _extent_refused(self.rows, self.columns)
        return True


class _OdsExtent:
    """Rows × columns of each table of an ODS content.xml, counting repeats as calamine does."""

    def __init__(self):
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.StartDoctypeDeclHandler = self.refuse
        self.parser.EntityDeclHandler = self.refuse
        self.cells = 0  # of the tables finished
        self.row = self.last_row = self.width = 0
        self.row_repeat = self.column = self.row_width = 0
        self.cell_repeat, self.cell_filled = 1, False

    def refuse(self, *args) -> None:
        raise _declaration_refused()

    def feed(self, chunk: bytes, final: bool = False) -> None:
        try:
            self.parser.Parse(chunk, final)
        except expat.ExpatError as exc:
            raise LimitExceeded(
                _("The ODS workbook cannot be read: %(error)s") % {"error": exc}
            ) from exc

    def close(self) -> int:
        self.feed(b"", final=True)
        return self.cells

    def start(self, name: str, attrs: dict) -> None:
        if name == f"{TABLE_NS} table-row":
            self.row_repeat = _repeat(attrs.get(f"{TABLE_NS} number-rows-repeated"))
            self.column = self.row_width = 0
        elif name in (f"{TABLE_NS} table-cell", f"{TABLE_NS} covered-table-cell"):
            self.cell_repeat = _repeat(attrs.get(f"{TABLE_NS} number-columns-repeated"))
            self.cell_filled = f"{OFFICE_NS} value-type" in attrs
        elif name == f"{TEXT_NS} p":
            self.cell_filled = True
        elif name == f"{TABLE_NS} table":
            self.row = self.last_row = self.width = 0

    def end(self, name: str) -> None:
        if name in (f"{TABLE_NS} table-cell", f"{TABLE_NS} covered-table-cell"):
            self.column += self.cell_repeat
            if self.cell_filled:
                self.row_width = self.column
            self.cell_repeat, self.cell_filled = 1, False
        elif name == f"{TABLE_NS} table-row":
            self.row += self.row_repeat
            if self.row_width:
                self.last_row = self.row
                self.width = max(self.width, self.row_width)
                if self.last_row * self.width > limit("MAX_SHEET_CELLS"):
                    raise _extent_refused(self.last_row, self.width)
        elif name == f"{TABLE_NS} table":
            self.cells += self.last_row * self.width


def _repeat(value: str | None) -> int:
    """A repeat count as calamine reads it (a count it cannot read is 1)."""
    try:
        return max(int(value or 1), 1)
    except ValueError:
        return 1
