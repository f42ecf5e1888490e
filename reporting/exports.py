"""The dashboards' tables as XLSX (openpyxl, write-only) and CSV (UTF-8 with a BOM for Excel).

Numbers are written as numbers, rounded as the page shows them; a missing value is an empty
cell, never 0. An XLSX sheet starts with a title row naming the scope and period. Text that a
spreadsheet would read as a formula is neutralised (OWASP: CSV injection).
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from alliance import audit, spreadsheets
from alliance.choices import AccessKind

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
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.name[:31])
    sheet.column_dimensions["A"].width = 30
    bold = Font(bold=True)

    def cells(values: Iterable, font: Font | None = None) -> list:
        out = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=spreadsheets.neutralise(value))
            if font is not None:
                cell.font = font
            out.append(cell)
        return out

    sheet.append(cells([table.heading], bold))
    sheet.append(cells(table.header, bold))
    for row in table.rows:
        sheet.append(cells(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _attachment(buffer.getvalue(), XLSX_TYPE, f"{table.name}.xlsx")


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


def response(table: Table, fmt: str, request: HttpRequest) -> HttpResponse:
    """The table as a download; the export goes into the access log with its filter and size."""
    filters = {k: v for k, v in request.GET.lists() if k != "format"}
    audit.record(
        AccessKind.EXPORT, request=request, table=table.name, format=fmt, filters=filters,
        rows=len(table.rows),
    )  # fmt: skip
    return xlsx_response(table) if fmt == "xlsx" else csv_response(table)


# --- the tables --------------------------------------------------------------------------------


def comparison_table(data: Comparison, *, name: str, title: str) -> Table:
    header = [_("Institution")] + [f"{_label(i)} {year}" for i, year in data.columns]
    rows = [[row.institution.name] + [cell.number for cell in row.cells] for row in data.rows]
    return Table(name, title, header, rows)


def _figure_rows(scope_name: str, figures: Iterable[Figure]) -> list[list]:
    return [
        [
            scope_name, str(f.indicator.name), f.number, str(f.indicator.unit),
            _number(f.numerator), _number(f.denominator), definition(f.indicator),
            str(f.indicator.source), f.note,
        ]
        for f in figures
    ]  # fmt: skip


def _number(value):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else value.normalize()


def _figure_header() -> list[str]:
    return [
        _("Alliance"), _("Indicator"), _("Value"), _("Unit"), _("Numerator"), _("Denominator"),
        _("Definition"), _("Source"), _("Note"),
    ]  # fmt: skip


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
    figures: list[AllianceFigures], keys: list[str], months: list[str], *, name: str, title: str
) -> Table:
    """Alliance × month rows, one column per indicator."""
    header = [_("Alliance"), _("Month")] + [_label(INDICATORS[k]) for k in keys]
    rows = []
    for f in figures:
        series = [f.monthly(k) for k in keys]
        for index, month in enumerate(months):
            rows.append([f.alliance.name, month] + [s[index].number for s in series])
    return Table(name, title, header, rows)


def institution_years_table(history: InstitutionHistory, *, name: str, title: str) -> Table:
    header = [_("Indicator"), _("Unit")] + [str(y) for y in history.years] + [_("Definition")]
    rows = [
        [str(i.name), str(i.unit)] + [c.number for c in cells] + [definition(i)]
        for i, cells in history.rows
    ]
    return Table(name, title, header, rows)


def institution_monthly_table(
    history: InstitutionHistory, months: list[str], *, name: str, title: str
) -> Table:
    keys = history.monthly_keys
    header = [_("Month")] + [_label(INDICATORS[k]) for k in keys]
    series = [history.month_figures(k) for k in keys]
    rows = [[month] + [s[index].number for s in series] for index, month in enumerate(months)]
    return Table(name, title, header, rows)
