"""The dashboards' exports: XLSX with numbers as numbers under a title row, CSV with a BOM,
Chinese headers, missing values left empty (never 0), and no patient anywhere."""

import csv
import datetime
import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from alliance import spreadsheets
from alliance.choices import InstitutionKind
from alliance.models import AccessLog
from core.choices import AccessKind
from reporting import exports
from reporting.indicators import INDICATORS
from tests.kit.factories import InstitutionFactory, MembershipFactory

from .test_dashboards import YEAR, build_facts

DASHBOARD = "/reporting/"


@pytest.fixture
def facts(world):
    return build_facts(world)


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def sheet_rows(response) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(response.content))
    return list(workbook.active.iter_rows(values_only=True))


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def zh(text) -> str:
    with translation.override("zh-hans"):
        return str(text)


def column(key: str, year: int | None = None) -> str:
    """An indicator's column header as the export writes it in Chinese."""
    indicator = INDICATORS[key]
    with translation.override("zh-hans"):
        label = f"{indicator.name}（{indicator.unit}）"
    return label if year is None else f"{label} {year}"


def test_the_comparison_table_as_xlsx(facts, alliance_office):
    response = logged_in(alliance_office).get(
        DASHBOARD, {"year": YEAR, "format": "xlsx", "table": "comparison"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"] == (
        f'attachment; filename="dashboard-comparison-{YEAR}.xlsx"'
    )
    title, header, *rows = sheet_rows(response)
    assert title[0].startswith(f"{facts['alliance'].name} · {YEAR - 2}–{YEAR} · 导出于 ")
    assert header[0] == "机构"
    assert list(header[1:]) == [
        column(key, year)
        for key in ("avg_outpatient_cost", "bed_utilization_rate")
        for year in (YEAR - 2, YEAR - 1, YEAR)
    ]
    by_name = {row[0]: row[1:] for row in rows}
    center = by_name[facts["center"].name]
    assert center[2] == 165 and isinstance(center[2], int | float)
    assert all(isinstance(v, int | float) for v in center[2::3])
    # No value in the two earlier years: empty cells, not zero.
    assert center[0] is None and center[1] is None
    assert facts["foreign_center"].name not in by_name


def test_a_missing_value_is_an_empty_cell(facts, alliance_office):
    params = {"year": YEAR, "indicators": ["avg_length_of_stay"], "table": "comparison"}
    client = logged_in(alliance_office)
    rows = {r[0]: r[1:] for r in sheet_rows(client.get(DASHBOARD, params | {"format": "xlsx"}))}
    assert rows[facts["other_center"].name][2] is None
    assert rows[facts["center"].name][2] == 20
    lines = {r[0]: r[1:] for r in csv_rows(client.get(DASHBOARD, params | {"format": "csv"}))}
    assert lines[facts["other_center"].name][2] == ""
    assert lines[facts["center"].name][2] == "20.00"


def test_the_comparison_table_as_csv(facts, bureau_viewer):
    response = logged_in(bureau_viewer).get(
        DASHBOARD, {"year": YEAR, "format": "csv", "table": "comparison"}
    )
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].endswith('.csv"')
    title, header, *rows = csv_rows(response)
    assert title[0].startswith(f"浦东新区 · {YEAR - 2}–{YEAR} · 导出于 ")
    assert header[0] == "机构"
    by_name = {row[0]: row[1:] for row in rows}
    assert set(by_name) == {facts["hospital"].name, facts["center"].name}
    assert by_name[facts["hospital"].name][2] == "310.00"


def test_headline_and_monthly_tables(facts, alliance_office):
    client = logged_in(alliance_office)
    title, header, *rows = sheet_rows(
        client.get(DASHBOARD, {"year": YEAR, "format": "xlsx", "table": "headline"})
    )
    assert str(YEAR) in title[0]
    assert header[0] == zh(gettext_lazy("Alliance"))
    beds = next(r for r in rows if r[1] == zh(INDICATORS["beds_per_1000"].name))
    assert beds[2:6] == (1.63, zh(INDICATORS["beds_per_1000"].unit), 130, 80000)
    title, header, *rows = sheet_rows(
        client.get(DASHBOARD, {"year": YEAR, "format": "xlsx", "table": "monthly"})
    )
    assert len(rows) == 12
    visits = header.index(column("outpatient_visits"))
    assert rows[3][visits] == 120  # April: 100 + 10 + 10 visits at the three members
    assert rows[2][visits] == 0


def test_the_office_exports_service_figures_the_bureau_does_not(
    facts, alliance_office, bureau_viewer
):
    params = {"year": YEAR, "format": "csv", "table": "centers"}
    assert logged_in(alliance_office).get(DASHBOARD, params).status_code == 200
    assert logged_in(bureau_viewer).get(DASHBOARD, params).status_code == 404
    params["table"] = "patients"
    assert logged_in(alliance_office).get(DASHBOARD, params).status_code == 404


def test_the_institution_tables(facts, clinic_doctor):
    client = logged_in(clinic_doctor)
    url = reverse("reporting:institution", args=[facts["center"].pk])
    response = client.get(url, {"format": "xlsx", "table": "years"})
    assert response["Content-Disposition"] == (
        f'attachment; filename="institution-{facts["center"].pk}-years.xlsx"'
    )
    title, header, *rows = sheet_rows(response)
    assert title[0].startswith(facts["center"].name)
    assert header[2] == str(YEAR)
    cost = next(r for r in rows if r[0] == zh(INDICATORS["avg_outpatient_cost"].name))
    assert cost[2] == 165
    response = client.get(url, {"year": YEAR, "format": "csv", "table": "monthly"})
    title, header, *rows = csv_rows(response)
    assert title[0].startswith(f"{facts['center'].name} · {YEAR} · 导出于 ")
    assert len(rows) == 12
    foreign = reverse("reporting:institution", args=[facts["foreign_center"].pk])
    assert client.get(foreign, {"format": "csv"}).status_code == 404


def test_text_a_spreadsheet_would_run_is_neutralised(world, alliance_office):
    tricky = InstitutionFactory(
        name='=HYPERLINK("http://example.com")', kind=InstitutionKind.COMMUNITY_CENTER
    )
    MembershipFactory(alliance=world["alliance"], institution=tricky)
    build_facts(world)  # recomputes, with the new member's register figures
    client = logged_in(alliance_office)
    params = {"year": YEAR, "indicators": ["health_workers_per_1000"], "table": "comparison"}
    names = [r[0] for r in sheet_rows(client.get(DASHBOARD, params | {"format": "xlsx"}))[2:]]
    assert '\'=HYPERLINK("http://example.com")' in names
    lines = csv_rows(client.get(DASHBOARD, params | {"format": "csv"}))
    assert '\'=HYPERLINK("http://example.com")' in [line[0] for line in lines]


def test_numbers_stay_numbers_and_only_text_is_escaped(facts, alliance_office):
    """A negative number is a number, in CSV as in XLSX; text starting like a formula is not."""
    table = exports.Table(
        "t",
        "=scope",
        ["-header", "value"],
        [["-12 mmHg", -12.5], ["+86 21", -3], ["@SUM(A1)", None], ["\tcmd", 0], ["\rcmd", 1]],
    )
    title, header, *rows = list(
        csv.reader(io.StringIO(exports.csv_response(table).content.decode("utf-8-sig")))
    )
    assert title[0].startswith("'=scope")
    assert header == ["'-header", "value"]
    assert rows == [
        ["'-12 mmHg", "-12.5"],
        ["'+86 21", "-3"],
        ["'@SUM(A1)", ""],
        ["'\tcmd", "0"],
        ["'\rcmd", "1"],
    ]
    sheet = load_workbook(io.BytesIO(exports.xlsx_response(table).content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert [r[:2] for r in values[2:]] == [  # XML reads a carriage return as a newline
        ("'-12 mmHg", -12.5),
        ("'+86 21", -3),
        ("'@SUM(A1)", None),
        ("'\tcmd", 0),
        ("'\ncmd", 1),
    ]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


EVERY_EXPORT = [
    ("dashboard", table, fmt)
    for table in ("comparison", "headline", "monthly", "centers")
    for fmt in ("csv", "xlsx")
] + [("institution", table, fmt) for table in ("years", "monthly") for fmt in ("csv", "xlsx")]


@pytest.mark.parametrize("page, table, fmt", EVERY_EXPORT)
def test_no_export_writes_a_cell_a_spreadsheet_would_run(facts, alliance_office, page, table, fmt):
    facts["alliance"].name = "=1+2"
    facts["alliance"].save()
    facts["center"].name = "@SUM(1)"
    facts["center"].save()
    url = (
        DASHBOARD
        if page == "dashboard"
        else reverse("reporting:institution", args=[facts["center"].pk])
    )
    response = logged_in(alliance_office).get(url, {"year": YEAR, "format": fmt, "table": table})
    assert response.status_code == 200
    if fmt == "csv":
        cells = [cell for row in csv_rows(response) for cell in row]
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
        cells = [c for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert cells[0].startswith(("'=1+2", "'@SUM(1)"))
    assert not [c for c in cells if c.startswith(spreadsheets.FORMULA_STARTS)]


def test_a_sheet_reads_well_as_opened(facts, alliance_office):
    """Widths fitted, numbers formatted, months as date cells, title and header frozen."""
    client = logged_in(alliance_office)
    params = {"year": YEAR, "format": "xlsx", "table": "comparison"}
    params["indicators"] = ["avg_outpatient_cost", "bed_utilization_rate", "outpatient_visits"]
    sheet = load_workbook(io.BytesIO(client.get(DASHBOARD, params).content)).active
    assert sheet.freeze_panes == "A3"
    assert sheet.page_setup.orientation == "landscape"
    title, header, *rows = list(sheet.iter_rows())
    assert re.fullmatch(
        rf"{facts['alliance'].name} · {YEAR - 2}–{YEAR} · 导出于 \d{{4}}-\d\d-\d\d \d\d:\d\d",
        title[0].value,
    )
    assert title[0].font.b and header[0].font.b
    columns = [h.value for h in header]
    cost, rate = (
        columns.index(column("avg_outpatient_cost", YEAR)),
        columns.index(column("bed_utilization_rate", YEAR)),
    )
    visits = columns.index(column("outpatient_visits", YEAR))
    assert "（%）" in columns[rate]
    center = next(r for r in rows if r[0].value == facts["center"].name)
    assert center[cost].value == 165 and center[cost].number_format == "#,##0.00"
    assert isinstance(center[rate].value, float) and center[rate].number_format == "#,##0.00"
    assert isinstance(center[visits].value, int) and center[visits].number_format == "#,##0"
    longest = max(len(r[0].value) for r in rows)  # Chinese names: two columns a character
    assert sheet.column_dimensions["A"].width >= 2 * longest
    assert 8 <= sheet.column_dimensions["B"].width <= 30


def test_months_are_date_cells_in_a_sheet_and_2019_07_in_a_csv(facts, alliance_office):
    client = logged_in(alliance_office)
    params = {"year": YEAR, "table": "monthly"}
    sheet = load_workbook(
        io.BytesIO(client.get(DASHBOARD, params | {"format": "xlsx"}).content)
    ).active
    months = [row[1] for row in list(sheet.iter_rows())[2:]]
    assert [m.value for m in months] == [datetime.datetime(YEAR, m, 1) for m in range(1, 13)]  # noqa: DTZ001
    assert {m.number_format for m in months} == {"yyyy-mm"}
    lines = csv_rows(client.get(DASHBOARD, params | {"format": "csv"}))
    assert [line[1] for line in lines[2:]] == [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    url = reverse("reporting:institution", args=[facts["center"].pk])
    lines = csv_rows(client.get(url, {"year": YEAR, "format": "csv", "table": "monthly"}))
    assert [line[0] for line in lines[2:]] == [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    sheet = load_workbook(
        io.BytesIO(client.get(url, {"year": YEAR, "format": "xlsx", "table": "monthly"}).content)
    ).active
    first = list(sheet.iter_rows(min_row=3, max_row=3))[0][0]
    assert first.is_date and first.number_format == "yyyy-mm"


def test_the_dashboard_as_a_pdf(facts, alliance_office, bureau_viewer):
    from tests.kit.documents import read_pdf

    response = logged_in(alliance_office).get(DASHBOARD, {"year": YEAR, "format": "pdf"})
    assert response["Content-Disposition"] == f'inline; filename="dashboard-{YEAR}.pdf"'
    pages, text = read_pdf(response)
    assert pages >= 1 and f"第{pages}页，共{pages}页" in text
    issuer = alliance_office.staff_profile.institution
    for expected in (
        issuer.name,
        f"{facts['alliance'].name}·{YEAR}",
        facts["center"].name,
        zh(INDICATORS["beds_per_1000"].name),
        "核对人签名",
        "单位盖章",
    ):
        assert expected.replace(" ", "") in text, expected
    logged = AccessLog.objects.get(kind=AccessKind.EXPORT, user=alliance_office)
    assert logged.detail == {
        "table": f"dashboard-{YEAR}",
        "format": "pdf",
        "filters": {"year": [str(YEAR)]},
        "rows": 3,
    }
    _, text = read_pdf(logged_in(bureau_viewer).get(DASHBOARD, {"year": YEAR, "format": "pdf"}))
    assert bureau_viewer.staff_profile.institution.name in text
    assert facts["foreign_center"].name not in text
    assert facts["patient"].name not in text


def test_an_institutions_figures_as_a_pdf(facts, clinic_doctor, alliance_office):
    from tests.kit.documents import read_pdf

    url = reverse("reporting:institution", args=[facts["center"].pk])
    response = logged_in(clinic_doctor).get(url, {"year": YEAR, "format": "pdf"})
    assert response["Content-Disposition"] == (
        f'inline; filename="institution-{facts["center"].pk}-{YEAR}.pdf"'
    )
    pages, text = read_pdf(response)
    assert pages >= 1 and f"第{pages}页，共{pages}页" in text
    for expected in (
        facts["center"].name,
        "年度指标",
        f"{YEAR}-01",
        f"{YEAR}-12",
        zh(INDICATORS["avg_outpatient_cost"].name),
        "165.00",
        "单位盖章",
    ):
        assert expected in text, expected
    foreign = reverse("reporting:institution", args=[facts["foreign_center"].pk])
    assert logged_in(clinic_doctor).get(foreign, {"format": "pdf"}).status_code == 404
    assert logged_in(alliance_office).get(url, {"format": "pdf"}).status_code == 200
    logged = AccessLog.objects.filter(kind=AccessKind.EXPORT, user=clinic_doctor).get()
    assert (logged.detail["table"], logged.detail["format"]) == (
        f"institution-{facts['center'].pk}-{YEAR}",
        "pdf",
    )
