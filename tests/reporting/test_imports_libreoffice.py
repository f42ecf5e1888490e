"""Files written by a real spreadsheet program: the test writes an ODS sheet (a title line, the
Chinese header, record ids with leading zeros, costs formatted with thousands separators,
dates formatted 2019年3月5日, a 合计 row), LibreOffice Calc converts it into CSV in GB18030 as
shown on screen, XLSX and XLS, and each file imports with the sheet's totals.

LibreOffice (`soffice`, Debian's libreoffice-calc) is installed by .ci/run; on CI its absence
is a failure, elsewhere a skip.
"""

import datetime
import io
import os
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from django.db.models import Sum

from alliance.models import Institution
from reporting.models import OutpatientVisit
from reporting.services.imports import import_facts

from .conftest import LAST_YEAR

pytestmark = pytest.mark.django_db

SOFFICE = shutil.which("soffice")
CODE = "LG-CALC-01"  # the member whose visits the sheet holds
CSV_GB18030 = "csv:Text - txt - csv (StarCalc):44,34,85,1,,0,false,true,true"  # 85: GB18030
NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
    "of": "urn:oasis:names:tc:opendocument:xmlns:of:1.2",
}
STYLES = (
    '<number:number-style style:name="N1"><number:number number:decimal-places="2" '
    'number:min-decimal-places="2" number:min-integer-digits="1" number:grouping="true"/>'
    "</number:number-style>"
    '<number:number-style style:name="N3"><number:number number:decimal-places="0" '
    'number:min-integer-digits="1" number:grouping="true"/></number:number-style>'
    '<number:date-style style:name="N2"><number:year number:style="long"/>'
    "<number:text>年</number:text><number:month/><number:text>月</number:text><number:day/>"
    "<number:text>日</number:text></number:date-style>"
    '<style:style style:name="money" style:family="table-cell" style:data-style-name="N1"/>'
    '<style:style style:name="count" style:family="table-cell" style:data-style-name="N3"/>'
    '<style:style style:name="day" style:family="table-cell" style:data-style-name="N2"/>'
)


def cell(value, style: str = "", formula: str = "") -> str:
    extra = (f' table:style-name="{style}"' if style else "") + (
        f' table:formula="{escape(formula)}"' if formula else ""
    )
    if isinstance(value, datetime.date):
        return (
            f'<table:table-cell{extra} office:value-type="date" '
            f'office:date-value="{value.isoformat()}"><text:p>{value}</text:p>'
            "</table:table-cell>"
        )
    if isinstance(value, int | float | Decimal):
        return (
            f'<table:table-cell{extra} office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
        "</text:p></table:table-cell>"
    )


def write_ods(path: Path, rows: list[list[str]]) -> None:
    body = "".join("<table:table-row>" + "".join(row) + "</table:table-row>" for row in rows)
    namespaces = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {namespaces} '
        f'office:version="1.2"><office:automatic-styles>{STYLES}</office:automatic-styles>'
        '<office:body><office:spreadsheet><table:table table:name="门诊明细">'
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
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "mimetype",
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)


@pytest.fixture(scope="module")
def soffice():
    if SOFFICE is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run this test: soffice (libreoffice-calc) is missing")
        pytest.skip("needs LibreOffice Calc (apt-get install libreoffice-calc)")
    return SOFFICE


def convert(soffice: str, source: Path, target: str, folder: Path) -> Path:
    """soffice --convert-to, with a profile of its own (parallel runs do not share one)."""
    profile = (folder / "profile").as_uri()
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(folder / "out"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    suffix = target.split(":")[0]
    return folder / "out" / f"{source.stem}.{suffix}"


HEADER = ("机构编码", "门诊号", "就诊日期", "就诊类型", "科室", "人次", "总费用（元）")
VISITS = [  # record id, day, type, count, cost
    ("00000123", 5, "普通门诊", 1, Decimal("1234.50")),
    ("00000124", 5, "急诊科", 3, Decimal("12345.67")),
    ("0042", 6, "门诊", 1, Decimal("88.00")),
    ("A-0007", 7, "急诊", 2, Decimal("1000000.10")),
    ("2019000001", 8, "门诊", 12, Decimal("999.99")),
]


@pytest.fixture(scope="module")
def converted(soffice, tmp_path_factory):
    """The same sheet, converted by Calc into CSV (GB18030), XLSX and XLS: {format: bytes}."""
    folder = tmp_path_factory.mktemp("calc")
    rows = [[cell(f"临港医联体 {LAST_YEAR} 年 3 月门诊明细")], []]
    rows.append([cell(name) for name in HEADER])
    for record_id, day, visit_type, count, cost in VISITS:
        rows.append(
            [
                cell(CODE),
                cell(record_id),
                cell(datetime.date(LAST_YEAR, 3, day), "day"),
                cell(visit_type),
                cell("全科医学科"),
                cell(count, "count"),
                cell(cost, "money"),
            ]
        )
    last = 3 + len(VISITS)
    rows.append(
        [
            cell("合计"),
            cell(""),
            cell(""),
            cell(""),
            cell(""),
            cell(sum(v[3] for v in VISITS), "count", f"of:=SUM([.F4:.F{last}])"),
            cell(sum(v[4] for v in VISITS), "money", f"of:=SUM([.G4:.G{last}])"),
        ]
    )
    source = folder / "visits.ods"
    write_ods(source, rows)
    return {
        "csv": convert(soffice, source, CSV_GB18030, folder).read_bytes(),
        "xlsx": convert(soffice, source, "xlsx", folder).read_bytes(),
        "xls": convert(soffice, source, "xls", folder).read_bytes(),
        "ods": source.read_bytes(),
    }


def test_calc_wrote_the_csv_in_gb18030_with_thousands_separators(converted):
    text = converted["csv"].decode("gb18030")

    with pytest.raises(UnicodeDecodeError):
        converted["csv"].decode("utf-8")
    assert '"12,345.67"' in text and '"1,000,000.10"' in text
    assert f"{LAST_YEAR}年3月5日" in text


@pytest.mark.parametrize("kind", ["csv", "xlsx", "xls", "ods"])
def test_each_file_calc_writes_imports_with_the_sheets_totals(world, converted, kind):
    Institution.objects.filter(pk=world["center"].pk).update(code=CODE)

    result = import_facts(kind="visits", file=io.BytesIO(converted[kind]), actor=None)

    assert (result.created, result.updated) == (len(VISITS), 0)
    assert any("合计" in warning for warning in result.warnings)
    stored = OutpatientVisit.objects.aggregate(cost=Sum("total_cost"), visits=Sum("visit_count"))
    assert stored == {"cost": sum(v[4] for v in VISITS), "visits": sum(v[3] for v in VISITS)}
    assert dict(OutpatientVisit.objects.values_list("record_id", "visit_type")) == {
        "00000123": "outpatient",
        "00000124": "emergency",
        "0042": "outpatient",
        "A-0007": "emergency",
        "2019000001": "outpatient",
    }
    assert set(OutpatientVisit.objects.values_list("visit_date", flat=True)) == {
        datetime.date(LAST_YEAR, 3, day) for _id, day, *_rest in VISITS
    }
