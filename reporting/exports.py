"""The dashboards' tables as XLSX (openpyxl, write-only) and CSV (UTF-8 with a BOM for Excel).

Numbers are written as numbers, rounded as the page shows them; a missing value is an empty
cell, never 0; months are `2019-07` (date cells in a sheet). Both start with a title row naming
the scope, the period and the time of export. Text that a spreadsheet would read as a formula
is neutralised (alliance.spreadsheets; OWASP: CSV injection).

A table is a header and rows of plain values: a new column (a figure's coverage, say) is one
more header and one more value per row; its cells' formats and the column's width follow from
the values (int, Decimal, date, Month, text).
"""

from __future__ import annotations

import datetime
import io
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from alliance import spreadsheets
from core import audit
from core.choices import AccessKind

from .indicators import INDICATORS
from .selectors import (
    AllianceFigures,
    Comparison,
    Figure,
    InstitutionHistory,
    definition,
)

FORMATS = ("xlsx", "csv")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WHOLE_FORMAT = "#,##0"
MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONTH_FORMAT = "yyyy-mm"
MIN_WIDTH, HEADER_WIDTH, MAX_WIDTH = 6, 24, 60  # in characters (a Chinese one counts two)


@dataclass
class Table:
    name: str  # file name stem, ASCII
    title: str  # scope and period
    header: list[str]
    rows: list[list] = field(default_factory=list)
    exported_at: datetime.datetime = field(default_factory=timezone.localtime)

    @property
    def heading(self) -> str:
        """The first row of every export: scope, period and the time of export."""
        stamp = timezone.localtime(self.exported_at).strftime("%Y-%m-%d %H:%M")
        return f"{self.title} · " + _("exported %(time)s") % {"time": stamp}


def _label(figure_or_indicator) -> str:
    indicator = getattr(figure_or_indicator, "indicator", figure_or_indicator)
    return f"{indicator.name}（{indicator.unit}）"


def xlsx_response(table: Table) -> HttpResponse:
    """The table as a sheet that reads well as opened: a bold title row and header row, both
    frozen, columns as wide as their content, numbers with thousands separators and the
    decimals the page shows, dates and months as date cells; landscape, one page wide."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.name[:31])
    for index, width in enumerate(column_widths(table), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A3"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_title_rows = "1:2"
    bold = Font(bold=True)
    title_font = Font(bold=True, size=13)
    header_alignment = Alignment(wrap_text=True, vertical="center")

    def cell(value, font=None, alignment=None) -> WriteOnlyCell:
        out = WriteOnlyCell(sheet, value=spreadsheets.neutralise(value))
        number_format = _number_format(value)
        if number_format:
            out.number_format = number_format
        if font is not None:
            out.font = font
        if alignment is not None:
            out.alignment = alignment
        return out

    sheet.append([cell(table.heading, title_font)])
    sheet.append([cell(h, bold, header_alignment) for h in table.header])
    for row in table.rows:
        sheet.append([cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _attachment(buffer.getvalue(), XLSX_TYPE, f"{table.name}.xlsx")


class Month(datetime.date):
    """A calendar month: a date cell shown as 2019-07 in a sheet, `2019-07` in a CSV."""

    def __new__(cls, year: int, month: int, day: int = 1):
        return super().__new__(cls, year, month, 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def months_of(year: int) -> list[Month]:
    return [Month(year, month) for month in range(1, 13)]


def _number_format(value) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Month):
        return MONTH_FORMAT
    if isinstance(value, datetime.datetime):
        return DATETIME_FORMAT
    if isinstance(value, datetime.date):
        return DATE_FORMAT
    if isinstance(value, int):
        return WHOLE_FORMAT
    if isinstance(value, Decimal):
        places = -value.as_tuple().exponent if value.is_finite() else 0
        return WHOLE_FORMAT if places <= 0 else WHOLE_FORMAT + "." + "0" * min(places, 6)
    if isinstance(value, float):
        return MONEY_FORMAT
    return None


def _shown(value) -> str:
    """The value as a spreadsheet shows it in the formats above (for the column's width)."""
    if value is None:
        return ""
    if isinstance(value, Month):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _text_width(text: str) -> int:
    """Columns a text takes: a Chinese character is two, a Latin one one."""
    longest = max(text.splitlines() or [""], key=len)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


def column_widths(table: Table) -> list[float]:
    """Each column as wide as its widest value (the header wraps past MAX_WIDTH)."""
    count = max([len(table.header)] + [len(row) for row in table.rows])
    widths = [MIN_WIDTH] * count
    for index, header in enumerate(table.header):
        widths[index] = max(widths[index], min(_text_width(str(header)), HEADER_WIDTH))
    for row in table.rows:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], _text_width(_shown(value)))
    return [min(width, MAX_WIDTH) + 2 for width in widths]


def csv_response(table: Table) -> HttpResponse:
    text = io.StringIO(spreadsheets.BOM)
    text.seek(0, io.SEEK_END)
    writer = spreadsheets.csv_writer(text)
    writer.writerow([table.heading])
    writer.writerow(table.header)
    writer.writerows(table.rows)
    content = text.getvalue().encode("utf-8")
    return _attachment(content, "text/csv; charset=utf-8", f"{table.name}.csv")


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def record_export(request: HttpRequest, name: str, fmt: str, rows: int) -> None:
    """An export (XLSX, CSV or a PDF document) goes into the access log with its filter and
    size."""
    filters = {k: v for k, v in request.GET.lists() if k != "format"}
    audit.record(
        AccessKind.EXPORT, request=request, table=name, format=fmt, filters=filters, rows=rows
    )


def response(table: Table, fmt: str, request: HttpRequest) -> HttpResponse:
    """The table as a download, logged as an export."""
    record_export(request, table.name, fmt, len(table.rows))
    return xlsx_response(table) if fmt == "xlsx" else csv_response(table)


# --- the tables --------------------------------------------------------------------------------


def comparison_table(data: Comparison, *, name: str, title: str) -> Table:
    header = [_("Institution")] + [f"{_label(i)} {year}" for i, year in data.columns]
    rows = [[row.institution.name] + [cell.number for cell in row.cells] for row in data.rows]
    return Table(name, title, header, rows)


def _figure_rows(scope_name: str, figures: Iterable[Figure]) -> list[list]:
    return [
        [
            scope_name,
            str(f.indicator.name),
            f.number,
            str(f.indicator.unit),
            _number(f.numerator),
            _number(f.denominator),
            definition(f.indicator),
            str(f.indicator.source),
            f.note,
            f.coverage or None,
        ]
        for f in figures
    ]


def _number(value):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else value.normalize()


def _figure_header() -> list[str]:
    return [
        _("Alliance"),
        _("Indicator"),
        _("Value"),
        _("Unit"),
        _("Numerator"),
        _("Denominator"),
        _("Definition"),
        _("Source"),
        _("Note"),
        _("Coverage (institutions reporting)"),
    ]


def headline_table(figures: list[AllianceFigures], *, name: str, title: str) -> Table:
    rows = []
    for f in figures:
        rows += _figure_rows(f.alliance.name, f.headline)
    return Table(name, title, _figure_header(), rows)


def centers_table(figures: list[AllianceFigures], *, name: str, title: str) -> Table:
    rows = []
    for f in figures:
        rows += _figure_rows(f.alliance.name, f.centers + f.referrals)
    return Table(name, title, _figure_header(), rows)


def monthly_table(
    figures: list[AllianceFigures], keys: list[str], year: int, *, name: str, title: str
) -> Table:
    """Alliance × month rows, one column per indicator."""
    months = months_of(year)
    header = [_("Alliance"), _("Month")] + [_label(INDICATORS[k]) for k in keys]
    header.append(_("Coverage (institutions reporting)"))
    rows = []
    for f in figures:
        series = [f.monthly(k) for k in keys]
        for index, month in enumerate(months):
            # The month's coverage: the same for every figure of it drawn from facts.
            covered = next((s[index].coverage for s in series if s[index].coverage), None)
            rows.append([f.alliance.name, month] + [s[index].number for s in series] + [covered])
    return Table(name, title, header, rows)


def institution_years_table(history: InstitutionHistory, *, name: str, title: str) -> Table:
    header = [_("Indicator"), _("Unit")] + [str(y) for y in history.years] + [_("Definition")]
    rows = [
        [str(i.name), str(i.unit)] + [c.number for c in cells] + [definition(i)]
        for i, cells in history.rows
    ]
    return Table(name, title, header, rows)


def institution_monthly_table(
    history: InstitutionHistory, year: int, *, name: str, title: str
) -> Table:
    months = months_of(year)
    keys = history.monthly_keys
    header = [_("Month")] + [_label(INDICATORS[k]) for k in keys]
    series = [history.month_figures(k) for k in keys]
    rows = [[month] + [s[index].number for s in series] for index, month in enumerate(months)]
    return Table(name, title, header, rows)
