"""Formats: CSV and TSV in UTF-8, UTF-8 with BOM, GB18030 and UTF-16 (Excel's "Unicode text"),
XLSX and ODS workbooks (told apart by content, whatever the name), and files of another kind
refused in one sentence: a web page saved as .xls, a PDF, a zip, a Word document, a workbook
too large once uncompressed."""

import datetime
import io
import zipfile
from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from django.utils import translation

from reporting.models import OutpatientVisit
from reporting.services.imports import ImportRejected, import_facts

from .conftest import HEADERS, LAST_YEAR, visit, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def text_file(rows, *, delimiter=",", encoding="utf-8") -> io.BytesIO:
    lines = [delimiter.join(map(str, row)) for row in [HEADERS["visits"], *rows]]
    return io.BytesIO(("\r\n".join(lines) + "\r\n").encode(encoding))


def ods_bytes(rows: list[list]) -> bytes:
    """A minimal OpenDocument spreadsheet, as LibreOffice writes one (strings, floats, dates)."""

    def cell(value) -> str:
        if isinstance(value, datetime.date):
            return (
                f'<table:table-cell office:value-type="date" '
                f'office:date-value="{value.isoformat()}"><text:p>{value}</text:p>'
                "</table:table-cell>"
            )
        if isinstance(value, int | float):
            return (
                f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>"
            )
        return (
            f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
            "</text:p></table:table-cell>"
        )

    body = "".join(
        "<table:table-row>" + "".join(cell(v) for v in row) + "</table:table-row>"
        for row in [HEADERS["visits"], *rows]
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Sheet1">'
        f"{body}</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "mimetype",
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest)
    return out.getvalue()


def refusal(content: bytes) -> str:
    with pytest.raises(ImportRejected) as caught:
        import_facts(kind="visits", file=io.BytesIO(content), actor=None)
    assert not OutpatientVisit.objects.exists()
    assert caught.value.error_count == 1
    assert [(e["row"], e["column"]) for e in caught.value.errors] == [(1, "")]
    return caught.value.detail


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_tab_separated_text_in_every_encoding_imports(world, encoding):
    rows = [
        visit(world["center"], "V1", department="全科医学科", total_cost="1,234.50"),
        visit(world["center"], "V2", visit_type="急诊"),
    ]

    result = import_facts(
        kind="visits", file=text_file(rows, delimiter="\t", encoding=encoding), actor=None
    )

    assert result.created == 2
    assert OutpatientVisit.objects.get(record_id="V1").total_cost == Decimal("1234.50")
    assert OutpatientVisit.objects.get(record_id="V2").visit_type == "emergency"


def test_an_ods_workbook_imports_whatever_its_name(world):
    rows = [
        [world["center"].code, "00007", datetime.date(LAST_YEAR, 3, 5), "门诊", "全科", 2, 1234.5]
    ]

    result = import_facts(kind="visits", file=io.BytesIO(ods_bytes(rows)), actor=None)

    assert result.created == 1
    saved = OutpatientVisit.objects.get()
    assert (saved.record_id, saved.visit_date, saved.visit_count, saved.total_cost) == (
        "00007",
        datetime.date(LAST_YEAR, 3, 5),
        2,
        Decimal("1234.50"),
    )


def test_an_xlsx_with_title_rows_reports_rows_as_excel_numbers_them(world):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["门诊明细"])
    sheet.append([])
    sheet.append(["机构编码", "门诊号", "就诊日期", "总费用"])
    sheet.append([world["center"].code, "V1", datetime.datetime(LAST_YEAR, 3, 5, 0, 0), 10])  # noqa: DTZ001
    sheet.append([world["center"].code, "V2", "昨天", 10])
    out = io.BytesIO()
    workbook.save(out)

    with pytest.raises(ImportRejected) as caught:
        import_facts(kind="visits", file=io.BytesIO(out.getvalue()), actor=None)

    assert [(e["row"], e["column"]) for e in caught.value.errors] == [(5, "visit_date")]


def test_a_web_page_saved_as_xls_is_refused_in_one_sentence(world):
    page = b"\xef\xbb\xbf<html xmlns:x='urn:schemas-microsoft-com:office:excel'><body><table>"
    page += b"<tr><td>institution_code</td></tr></table></body></html>"

    assert refusal(page).startswith("该文件是网页（HTML），不是电子表格")


@pytest.mark.parametrize(
    ("content", "start"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "该文件是 PDF 文档"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 100, "该文件是压缩包"),
        (b"\x00\x01\x02\x03" * 100, "该文件不是表格，而是二进制数据"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "该文件是旧版 Office 文件"),
    ],
    ids=["pdf", "gzip", "binary", "not-an-xls"],
)
def test_files_of_another_kind_are_refused_in_one_sentence(world, content, start):
    assert refusal(content).startswith(start)


def zip_of(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def test_a_zip_that_is_no_workbook_is_refused(world):
    assert refusal(zip_of("visits.csv", b"a,b\r\n")).startswith("该文件是 zip 压缩包")
    assert refusal(zip_of("word/document.xml", b"<w/>")).startswith("该文件是文字处理文档")


def test_a_workbook_too_large_uncompressed_is_refused_before_it_is_opened(world, settings):
    content = xlsx_bytes("visits", [visit(world["center"], f"V{n}") for n in range(2000)])
    settings.IMPORT_MAX_UNZIPPED_BYTES = 50_000

    assert refusal(content).startswith("该工作簿解压后超过 0 MB")


def test_a_damaged_workbook_is_refused(world):
    content = xlsx_bytes("visits", [visit(world["center"])])

    detail = refusal(content[: len(content) // 2])

    assert "XLSX" in detail


def test_an_old_xls_too_large_is_refused_before_it_is_opened(world, settings):
    settings.IMPORT_MAX_UNZIPPED_BYTES = 1 << 20

    detail = refusal(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * (2 << 20))

    assert detail.startswith("该工作簿解压后超过 1 MB")
