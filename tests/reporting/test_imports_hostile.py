"""Hostile files (issue 13, item 3): each is built here, posted to the API and refused with a
400 naming the limit in Chinese, a short body, and nothing written. The limits are the
defaults of settings.py unless a test lowers one to keep the file small."""

import datetime
import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from reporting.models import OutpatientVisit
from reporting.services.imports import import_facts
from reporting.workbooks import _at_most, inspect_workbook

from .conftest import HEADERS, LAST_YEAR, csv_bytes, visit, xlsx_bytes

pytestmark = pytest.mark.django_db

URL = "/api/v1/facts/visits/import/"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
    'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/></Types>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlforma'
    'ts.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlforma'
    'ts.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8"?>{prologue}<worksheet xmlns="http://schemas.'
    'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_END = "</sheetData></worksheet>"
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>'
)


def inline_row(number: int, values: list[str]) -> str:
    cells = "".join(
        f'<c r="{column}{number}" t="inlineStr"><is><t>{value}</t></is></c>'
        for column, value in zip("ABCDEFG", values, strict=False)
    )
    return f'<row r="{number}">{cells}</row>'


def workbook(sheet_parts, *, prologue="", shared_strings=None) -> bytes:
    """A minimal XLSX whose sheet XML is written from `sheet_parts` (an iterable of strings,
    streamed: a sheet of hundreds of MB never sits in memory) and, optionally, shared strings."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(SHEET_START.format(prologue=prologue).encode())
            for text in sheet_parts:
                part.write(text.encode())
            part.write(SHEET_END.encode())
        if shared_strings is not None:
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                for text in shared_strings:
                    part.write(text.encode())
    return out.getvalue()


def post(client, content: bytes, name: str):
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(URL, {"file": upload}, format="multipart", HTTP_ACCEPT_LANGUAGE="zh-hans")


@pytest.fixture
def office(api, alliance_office, django_capture_on_commit_callbacks):
    client = api.as_user(alliance_office)
    client.run_jobs = django_capture_on_commit_callbacks  # imports the API hands to a job
    return client


def refused(client, content: bytes, name: str = "visits.xlsx", *, job: bool = False) -> str:
    """Post the file; it must be a short 400 that wrote nothing (or, for a file the API hands
    to a worker, a job that failed so). Answers the detail."""
    with client.run_jobs(execute=True):
        response = post(client, content, name)
    if job:
        assert response.status_code == 202, response.content[:500]
        response = client.get(response.json()["url"])
        assert response.json()["status"] == "failed"
        detail = response.json()["result"]["detail"]
    else:
        assert response.status_code == 400, response.content[:500]
        detail = response.json()["detail"]
    assert len(response.content) < 4096  # one sentence, not the file echoed back
    assert OutpatientVisit.objects.count() == 0
    return detail


def test_a_shared_strings_part_that_unzips_huge_is_refused_before_parsing(office, world):
    header = [inline_row(1, HEADERS["visits"])]
    chunk = "<si><t>" + "啊" * 10_000 + "</t></si>"  # 30 KB; 3,000 of them: 90 MB, 0.3 MB zipped
    strings = [
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">',
        *([chunk] * 3_000),
        "</sst>",
    ]
    content = workbook(header, shared_strings=strings)
    assert len(content) < 2 * 1024 * 1024

    detail = refused(office, content, job=True)  # unzips past 32 MB: read in a worker

    assert detail.startswith("该工作簿的共享文本解压后超过 64 MB")


def test_a_sheet_of_260_mb_of_xml_is_refused_by_the_size_check(office, world):
    filler = '<row r="2"><c r="A2"><v>1</v></c></row>' + " " * (1 << 20)
    content = workbook([inline_row(1, HEADERS["visits"]), *([filler] * 260)])
    assert len(content) < 4 * 1024 * 1024  # so the API used to import it at once

    detail = refused(office, content, job=True)

    assert detail.startswith("该工作簿解压后超过 200 MB")


def test_a_zip_claiming_a_small_size_is_read_as_far_as_it_claims(office, world):
    """A part whose header says it is small but which unzips bigger fails its CRC."""
    content = bytearray(workbook([inline_row(1, HEADERS["visits"]), "<row/>" * 100_000]))
    archive = zipfile.ZipFile(io.BytesIO(bytes(content)))
    sheet = archive.getinfo("xl/worksheets/sheet1.xml")
    real = sheet.file_size.to_bytes(4, "little")
    assert content.count(real) >= 1
    content = bytearray(bytes(content).replace(real, (1000).to_bytes(4, "little")))

    detail = refused(office, bytes(content))

    assert "损坏" in detail


def test_two_cells_far_apart_are_refused_before_calamine_makes_the_sheet_dense(office, world):
    # A1 and XFD1048576: 17 billion cells to calamine (it aborted the process: a 500 GB Vec).
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    detail = refused(office, workbook([inline_row(1, HEADERS["visits"]), far]))

    assert detail.startswith("该工作表跨 1048576 行 × 16384 列")


def test_cells_without_a_reference_are_refused(office, world):
    unnamed = '<row r="2">' + '<c t="inlineStr"><is><t>x</t></is></c>' * 3 + "</row>"

    detail = refused(office, workbook([inline_row(1, HEADERS["visits"]), unnamed]))

    assert "没有引用" in detail


@pytest.mark.parametrize("where", ["sheet", "shared strings"])
def test_a_workbook_with_a_doctype_is_a_400_naming_it(office, world, where):
    row = '<row r="2"><c r="A2" t="inlineStr"><is><t>&lol2;</t></is></c></row>'
    if where == "sheet":
        content = workbook([inline_row(1, HEADERS["visits"]), row], prologue=LAUGHS)
    else:
        strings = ['<?xml version="1.0"?>', LAUGHS, "<sst><si><t>&lol2;</t></si></sst>"]
        content = workbook([inline_row(1, HEADERS["visits"])], shared_strings=strings)

    detail = refused(office, content)

    assert "DOCTYPE" in detail


def test_an_ods_whose_repeats_make_a_huge_sheet_is_refused(office, world):
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    row = (
        '<table:table-row table:number-rows-repeated="100000"><table:table-cell '
        'table:number-columns-repeated="1000" office:value-type="string"><text:p>x</text:p>'
        "</table:table-cell></table:table-row>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr(
            "content.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}><office:body>'
            f'<office:spreadsheet><table:table table:name="S">{row}</table:table>'
            "</office:spreadsheet></office:body></office:document-content>",
        )

    detail = refused(office, out.getvalue(), "visits.ods", job=True)  # an .ods: in a worker

    assert "跨" in detail and "20000000" in detail


def test_a_csv_header_of_a_million_columns_is_refused_at_once(office, world):
    content = b"c," * 1_000_000 + b"\r\n"  # 2 MB: under 4 MB, the API would answer at once

    detail = refused(office, content, "visits.csv")

    assert detail.startswith("文件第 1 行超过 100000 个字符")


@override_settings(IMPORT_MAX_COLUMNS=20)
def test_a_header_of_more_columns_than_the_limit_is_refused(office, world):
    header = [*HEADERS["visits"], *(f"备注{n}" for n in range(30))]
    content = csv_bytes("visits", [visit(world["center"])], header=header)

    detail = refused(office, content, "visits.csv")

    assert detail == "第 1 行有 37 列：一个文件最多 20 列。"


def test_a_huge_cell_is_refused_with_a_short_answer(office, world):
    row = visit(world["center"], "V" + "9" * 3_000_000)
    detail = refused(office, csv_bytes("visits", [row]), "visits.csv")
    assert detail.startswith("文件第 2 行超过 100000 个字符")

    # In a workbook (no line to measure): the record id is too long, quoted in 40 characters.
    response = post(office, xlsx_bytes("visits", [row]), "visits.xlsx")
    assert response.status_code == 400
    assert len(response.content) < 4096
    assert response.json()["errors"][0]["value"] == "V" + "9" * 38 + "…"
    assert OutpatientVisit.objects.count() == 0


def test_errors_beyond_a_thousand_are_counted_not_listed(office, world):
    rows = [visit(world["center"], f"V{n}", visit_date="昨天", total_cost="x") for n in range(800)]
    rows += [visit(world["center"], "V1")] * 300  # duplicates of V1: another kind of problem

    response = post(office, csv_bytes("visits", rows), "visits.csv")

    body = response.json()
    assert response.status_code == 400
    assert len(body["errors"]) == 1000
    # A bad date and cost on each of 800 rows, 299 duplicates of the first V1.
    assert body["errors_omitted"] == 800 * 2 + 299 - 1000
    assert "另有 899 个未列出" in body["detail"]
    assert OutpatientVisit.objects.count() == 0


@override_settings(IMPORT_MAX_ROWS=3)
def test_a_file_of_more_rows_than_the_limit_is_refused(office, world):
    rows = [visit(world["center"], f"V{n}") for n in range(5)]

    detail = refused(office, csv_bytes("visits", rows), "visits.csv")

    assert detail == "文件超过 3 行：请拆分为较小的文件。"


@override_settings(IMPORT_MAX_SECONDS=0)
def test_an_import_over_its_time_limit_stops_and_writes_nothing(office, world):
    rows = [visit(world["center"], f"V{n}") for n in range(20)]

    detail = refused(office, csv_bytes("visits", rows), "visits.csv")

    assert detail.startswith("导入超过 0 秒，已停止，没有写入任何数据")


def test_growth_warnings_are_listed_up_to_a_hundred_then_counted(office, world):
    center, months = world["center"], []
    for n in range(101):
        year, month = divmod(n, 12)
        months.append(datetime.date(LAST_YEAR - 9 + year, month + 1, 1))
    OutpatientVisit.objects.bulk_create(
        OutpatientVisit(institution=center, record_id=f"OLD{n}", visit_date=day, total_cost=1)
        for n, day in enumerate(months)
    )
    rows = [visit(center, f"NEW{n}", visit_date=day.isoformat()) for n, day in enumerate(months)]

    response = office.post(
        URL + "?dry_run=true",
        {"file": SimpleUploadedFile("v.csv", csv_bytes("visits", rows))},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )

    warnings = response.json()["warnings"]
    assert response.status_code == 200
    assert len(warnings) == 101 and warnings[-1] == "另有 1 个月份同样增长。"


@pytest.mark.parametrize("spelling", ["plain", "prefixed, r not first"])
def test_a_good_workbook_larger_than_a_chunk_passes_the_checks(world, alliance_office, spelling):
    """The extent check reads the sheet in 1 MB chunks: cells cut at a chunk's end are counted
    once, and cells spelled otherwise than Excel does are read by the general patterns."""
    rows = [inline_row(1, HEADERS["visits"])]
    for n in range(2, 5_002):
        values = visit(world["center"], f"V{n}", department="内科" * 20)
        rows.append(inline_row(n, [str(v) for v in values]))
    if spelling != "plain":
        rows = [r.replace('<c r="', '<x:c s="0" r="').replace("</c>", "</x:c>") for r in rows]
    content = workbook(rows)  # calamine reads cells by their local name, any prefix
    assert len(b"".join(r.encode() for r in rows)) > 2 * 1024 * 1024

    result = import_facts(
        kind="visits", file=io.BytesIO(content), actor=alliance_office, dry_run=True
    )

    assert result.rows == 5_000 and result.created == 5_000


def narrow_rows(count: int, columns: str = "ABCDEFG") -> list[str]:
    """Rows of plainly named cells, over 1 MB of sheet: the extent check only counts them."""
    cells = "".join(
        f'<c r="{{c}}{{n}}" t="inlineStr"><is><t>{"备注" * 10}</t></is></c>'.replace("{c}", column)
        for column in columns
    )
    return [f'<row r="{n}">{cells.replace("{n}", str(n))}</row>' for n in range(2, count + 2)]


def test_a_narrow_sheet_with_a_row_beyond_the_bound_is_measured_cell_by_cell(office, world):
    # 26 columns (A–Z) in the counted segments; one cell at row 800,000 in column A: the
    # sheet spans 800,000 × 26 = 20.8 million cells, over 20 million, though the segment that
    # names the far row names only column A.
    far = '<row r="800000"><c r="A800000" t="inlineStr"><is><t>x</t></is></c></row>'
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    rows = [inline_row(1, HEADERS["visits"]), *narrow_rows(3_000, letters), far]

    detail = refused(office, workbook(rows))

    assert detail.startswith("该工作表跨 800000 行 × 26 列")


def test_a_narrow_sheet_of_many_rows_within_the_limits_passes_the_measure(world):
    # Row 900,000 is beyond the narrow bound (20 million ÷ 26) but 900,000 × 7 columns is
    # within the limit: the sheet is measured again, cell by cell, and goes through.
    far = '<row r="900000"><c r="A900000" t="inlineStr"><is><t>x</t></is></c></row>'
    content = workbook([inline_row(1, HEADERS["visits"]), *narrow_rows(3_000), far])

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        inspect_workbook(archive, "XLSX")  # no LimitExceeded


@pytest.mark.parametrize(
    "limit", [1, 9, 10, 99, 100, 769_230, 1_000_000, 2_000_000, 1_999_999, 3_040_506]
)
def test_the_narrow_row_pattern_accepts_exactly_the_rows_up_to_its_bound(limit):
    pattern = re.compile(_at_most(limit))
    numbers = {1, 2, 9, 10, 11, 99, 100, 101, limit - 1, limit, limit + 1, limit * 10, 2_000_001}
    for number in sorted(n for n in numbers if n >= 1):
        assert bool(pattern.fullmatch(str(number).encode())) == (number <= limit), number
    assert not pattern.fullmatch(b"0") and not pattern.fullmatch(b"01")
