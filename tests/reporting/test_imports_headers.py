"""Headers as hospital exports write them: Chinese column names, title lines above the header,
spaces around names, columns of no use (ignored with a warning), total rows (skipped and
reported), optional columns left out."""

import datetime
import io
from decimal import Decimal

import pytest
from django.utils import translation

from reporting.models import BedCapacity, InpatientStay, OutpatientVisit
from reporting.services.imports import ImportRejected, import_facts
from reporting.specs import ALIASES, SPECS

from .conftest import LAST_YEAR, csv_file

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def test_every_column_of_every_kind_has_chinese_aliases_and_none_is_ambiguous():
    for spec in SPECS.values():
        seen = {}
        for column in spec.columns:
            assert ALIASES[column.name], column.name
            for alias in ALIASES[column.name]:
                assert seen.setdefault(alias, column.name) == column.name, (spec.kind, alias)


def test_a_his_visits_export_with_chinese_names_imports(world):
    header = ["机构编码", "就诊流水号", "就诊日期", "就诊类型", "科室", "人次", "总费用"]
    rows = [
        [
            world["center"].code,
            "00042",
            f"{LAST_YEAR}-03-05 09:12:00",
            "普通门诊",
            "全科",
            "1",
            '"1,234.50"',
        ]
    ]

    result = import_facts(kind="visits", file=csv_file("visits", rows, header=header), actor=None)

    assert result.created == 1
    saved = OutpatientVisit.objects.get()
    assert (saved.record_id, saved.total_cost) == ("00042", Decimal("1234.50"))


def test_a_stays_export_with_chinese_names_imports(world):
    header = ["医疗机构编码", "住院号", "入院日期", "出院日期", "出院科室", "医疗总费用(元)"]
    rows = [
        [
            world["hospital"].code,
            "Z001",
            f"{LAST_YEAR}/3/1",
            f"{LAST_YEAR}/3/8",
            "心内科",
            "￥8,620.00",
        ]
    ]

    import_facts(kind="stays", file=csv_file("stays", rows, header=header), actor=None)

    assert InpatientStay.objects.get().discharge_date == datetime.date(LAST_YEAR, 3, 8)


def test_a_beds_file_with_chinese_names_imports(world):
    header = ["机构代码", "生效日期", "实际开放床位数"]
    rows = [[world["hospital"].code, f"{LAST_YEAR}年1月1日", "500"]]

    import_facts(kind="beds", file=csv_file("beds", rows, header=header), actor=None)

    assert BedCapacity.objects.get().open_beds == 500


def test_title_lines_above_the_header_are_skipped_and_rows_keep_their_numbers(world):
    content = (
        f"临港医联体 {LAST_YEAR} 年门诊明细,,,\r\n"
        "导出时间：2026-01-02,,,\r\n"
        "\r\n"
        " 机构编码 , 门诊号 ,就诊日期,总费用 \r\n"
        f"{world['center'].code},V1,{LAST_YEAR}-03-05,10\r\n"
        f"{world['center'].code},V2,{LAST_YEAR}-03-05,abc\r\n"
    ).encode("gb18030")

    with pytest.raises(ImportRejected) as caught:
        import_facts(kind="visits", file=io.BytesIO(content), actor=None)

    assert [(e["row"], e["column"]) for e in caught.value.errors] == [(6, "total_cost")]


def test_the_warnings_say_what_was_skipped(world):
    header = ["序号", "机构编码", "门诊号", "就诊日期", "病人姓名", "总费用"]
    rows = [
        ["1", world["center"].code, "V1", f"{LAST_YEAR}-03-05", "张三", "10"],
        ["2", world["center"].code, "V2", f"{LAST_YEAR}-03-06", "李四", "20"],
        ["合计", "", "", "", "", "30"],
        ["", "总计：", "", "", "", "30"],
    ]

    result = import_facts(kind="visits", file=csv_file("visits", rows, header=header), actor=None)

    assert (result.created, result.rows) == (2, 2)  # the total rows are no data rows
    assert result.warnings[:2] == [
        "以下列不属于此类文件，已忽略：序号、病人姓名。",
        "已跳过合计行（合计/总计/小计）：第 4、5 行。",
    ]
    saved = OutpatientVisit.objects.get(record_id="V1")
    assert (saved.visit_type, saved.visit_count, saved.department) == ("outpatient", 1, "")


def test_the_better_of_two_names_for_one_column_wins_and_the_other_is_ignored(world):
    header = ["机构编码", "门诊号", "挂号日期", "就诊日期", "总费用"]
    rows = [[world["center"].code, "V1", f"{LAST_YEAR}-03-04", f"{LAST_YEAR}-03-05", "10"]]

    result = import_facts(kind="visits", file=csv_file("visits", rows, header=header), actor=None)

    assert OutpatientVisit.objects.get().visit_date == datetime.date(LAST_YEAR, 3, 5)
    assert "挂号日期" in result.warnings[0]


def test_a_missing_required_column_names_its_aliases(world):
    header = ["机构编码", "门诊号", "总费用"]
    rows = [[world["center"].code, "V1", "10"]]

    with pytest.raises(ImportRejected) as caught:
        import_facts(kind="visits", file=csv_file("visits", rows, header=header), actor=None)

    assert caught.value.errors[0]["row"] == 1
    assert caught.value.errors[0]["column"] == "visit_date"
    assert "就诊日期" in caught.value.errors[0]["message"]
