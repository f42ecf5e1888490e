"""Cells as clerks' files really hold them: amounts with thousands separators, currency signs
and full-width digits, dates with times or in Chinese, Excel serial numbers, Chinese visit
types, record ids kept as text; and for each bad cell one sentence naming the row, the column,
the value found and what is expected, in Chinese."""

import datetime
import io
from decimal import Decimal

import pytest
from django.utils import translation

from reporting.models import BedCapacity, InpatientStay, OutpatientVisit
from reporting.services.imports import ImportRejected, import_facts

from .conftest import LAST_YEAR, beds, csv_file, stay, visit, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def imported_visit(world, **cells) -> OutpatientVisit:
    import_facts(
        kind="visits", file=csv_file("visits", [visit(world["center"], **cells)]), actor=None
    )
    return OutpatientVisit.objects.get()


def rejection(kind: str, rows) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        import_facts(kind=kind, file=csv_file(kind, rows), actor=None)
    return caught.value


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ('"1,234.50"', "1234.50"),
        ("¥1234.5", "1234.50"),
        ('"￥1,234.50"', "1234.50"),
        ("1234.50元", "1234.50"),
        ("１２３４．５０", "1234.50"),
        ('"１，２３４．５"', "1234.50"),
        (" 1234.5 ", "1234.50"),
        ('"1 234.50"', "1234.50"),
        ('"12,345,678.90"', "12345678.90"),
        ("RMB 88", "88.00"),
        ("0", "0.00"),
    ],
)
def test_amounts_as_spreadsheets_write_them_are_read(world, written, amount):
    assert imported_visit(world, total_cost=written).total_cost == Decimal(amount)


@pytest.mark.parametrize(
    ("written", "count"),
    [('"1,234"', 1234), ("１２", 12), (" 3 ", 3), ("3.00", 3), ("", 1)],
)
def test_counts_take_the_same_shapes(world, written, count):
    assert imported_visit(world, visit_count=written).visit_count == count


def test_open_beds_take_thousands_separators_and_full_width_digits(world):
    rows = [
        beds(world["hospital"], f"{LAST_YEAR}-01-01", '"1,200"'),
        beds(world["center"], f"{LAST_YEAR}-01-01", "８０"),
    ]

    import_facts(kind="beds", file=csv_file("beds", rows), actor=None)

    assert sorted(BedCapacity.objects.values_list("open_beds", flat=True)) == [80, 1200]


@pytest.mark.parametrize(
    "written",
    [
        f"{LAST_YEAR}-01-05 00:00:00",
        f"{LAST_YEAR}-01-05 14:30",
        f"{LAST_YEAR}-01-05T08:00:00",
        f"{LAST_YEAR}/1/5 0:00:00",
        f"{LAST_YEAR}/01/05",
        f"{LAST_YEAR}年1月5日",
        f"{LAST_YEAR}.1.5",
        f"{LAST_YEAR}0105",
        f"{LAST_YEAR}-01-05",
        "２０" + str(LAST_YEAR)[2:] + "－０１－０５",
    ],
)
def test_dates_in_every_shape_hospital_exports_write(world, written):
    assert imported_visit(world, visit_date=written).visit_date == datetime.date(LAST_YEAR, 1, 5)


def test_an_excel_serial_number_in_a_date_column_is_its_date(world):
    day = datetime.date(LAST_YEAR, 1, 5)
    serial = (day - datetime.date(1899, 12, 30)).days

    assert imported_visit(world, visit_date=str(serial)).visit_date == day
    OutpatientVisit.objects.all().delete()
    assert imported_visit(world, visit_date=f"{serial}.75").visit_date == day


def test_a_serial_number_is_no_amount_and_an_amount_no_date(world):
    exc = rejection("visits", [visit(world["center"], visit_date="125.50")])

    assert [(e["row"], e["column"], e["value"]) for e in exc.errors] == [
        (2, "visit_date", "125.50")
    ]


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("门诊", "outpatient"),
        ("急诊", "emergency"),
        ("普通门诊", "outpatient"),
        ("急诊科", "emergency"),
        ("Emergency", "emergency"),
        (" 门诊 ", "outpatient"),
    ],
)
def test_chinese_visit_types_map_to_the_two_types(world, written, stored):
    assert imported_visit(world, visit_type=written).visit_type == stored


def test_record_ids_are_text_leading_zeros_kept(world):
    assert imported_visit(world, record_id="00000123").record_id == "00000123"


def test_text_is_kept_as_written_only_trimmed(world):
    saved = imported_visit(world, record_id="\u3000MZ００１ ", department=" 心内科（胸痛中心）")

    assert (saved.record_id, saved.department) == ("MZ００１", "心内科（胸痛中心）")


def test_an_xlsx_number_cell_as_record_id_is_the_whole_number(world):
    code, day = world["center"].code, datetime.date(LAST_YEAR, 3, 5)
    rows = [
        [code, 123, day, "门诊", "", 1, 10],
        [code, "00000123", day, "", "", 1, 10],
        [code, 1234567890123, day, "", "", 1, 10],
    ]

    import_facts(kind="visits", file=io.BytesIO(xlsx_bytes("visits", rows)), actor=None)

    assert set(OutpatientVisit.objects.values_list("record_id", flat=True)) == {
        "123",
        "00000123",
        "1234567890123",
    }


def test_xlsx_amounts_are_read_as_excel_shows_them(world):
    code, day = world["center"].code, datetime.date(LAST_YEAR, 3, 5)
    rows = [[code, "X1", day, "", "", 2.0, 0.1 + 0.2], [code, "X2", day, "", "", 1, 1234.5]]

    import_facts(kind="visits", file=io.BytesIO(xlsx_bytes("visits", rows)), actor=None)

    assert dict(OutpatientVisit.objects.values_list("record_id", "total_cost")) == {
        "X1": Decimal("0.30"),
        "X2": Decimal("1234.50"),
    }


def test_stay_dates_with_times_and_in_chinese(world):
    rows = [
        stay(
            world["hospital"],
            "S1",
            admit_date=f"{LAST_YEAR}年3月1日",
            discharge_date=f"{LAST_YEAR}/3/8 10:00:00",
            total_cost='"8,620.00"',
        )
    ]

    import_facts(kind="stays", file=csv_file("stays", rows), actor=None)

    saved = InpatientStay.objects.get()
    assert (saved.admit_date, saved.discharge_date, saved.total_cost) == (
        datetime.date(LAST_YEAR, 3, 1),
        datetime.date(LAST_YEAR, 3, 8),
        Decimal("8620.00"),
    )


# --- what is still wrong is said in one sentence: row, column, value, what is expected ------

MESSAGES = [
    (
        "total_cost",
        "abc",
        "第 2 行 total_cost：“abc” 不是有效金额：应为以元为单位、最多两位小数的数字，如 1234.50。",
    ),  # noqa: E501
    ("total_cost", '"1,23.50"', "第 2 行 total_cost：“1,23.50” 不是有效金额"),
    ("total_cost", "12.345", "第 2 行 total_cost：“12.345” 超过两位小数"),
    ("total_cost", "-5", "第 2 行 total_cost：“-5” 是负数"),
    ("total_cost", "", "第 2 行 total_cost：为空，此列必填。"),
    ("visit_count", "1.5", "第 2 行 visit_count：“1.5” 不是有效数量：应为不小于 1 的整数。"),
    ("visit_count", "0", "第 2 行 visit_count：“0” 不是有效数量"),
    (
        "visit_date",
        f"{LAST_YEAR}-02-30",
        f"第 2 行 visit_date：“{LAST_YEAR}-02-30” 不是有效日期：应为 2019-01-05、2019/1/5 或 2019年1月5日 这样的日期。",  # noqa: E501
    ),
    ("visit_date", "05.03.2024", "第 2 行 visit_date：“05.03.2024” 不是有效日期"),
    ("visit_date", "2999-01-01", "第 2 行 visit_date：“2999-01-01” 是将来的日期"),
    ("visit_type", "住院", "第 2 行 visit_type：“住院” 不是有效的就诊类型：应为门诊或急诊。"),
    ("institution_code", "NO-SUCH", "第 2 行 institution_code：“NO-SUCH” 不是您可导入的机构编码"),
]


@pytest.mark.parametrize(("column", "value", "message"), MESSAGES)
def test_each_bad_cell_is_one_chinese_sentence_with_row_column_and_value(
    world, column, value, message
):
    exc = rejection("visits", [visit(world["center"], **{column: value})])

    assert len(exc.errors) == 1
    error = exc.errors[0]
    assert (error["row"], error["column"]) == (2, column)
    assert error["value"] == value.strip('"')
    assert error["message"].startswith(message), error["message"]


def test_a_discharge_before_admission_names_both_dates(world):
    rows = [
        stay(world["hospital"], admit_date=f"{LAST_YEAR}-05-02", discharge_date=f"{LAST_YEAR}/5/1")
    ]

    exc = rejection("stays", rows)

    assert exc.errors[0]["message"] == (
        f"第 2 行 discharge_date：“{LAST_YEAR}/5/1” 早于入院日期 {LAST_YEAR}-05-02："
        "出院日期应不早于入院日期。"
    )


def test_a_duplicate_names_the_value_and_the_first_row(world):
    rows = [visit(world["center"], "00012"), visit(world["center"], "00012")]

    exc = rejection("visits", rows)

    assert exc.errors[0]["message"] == (
        "第 3 行 record_id：“00012” 重复：第 2 行的机构和 record_id 与此相同。"
    )


def test_the_message_names_the_column_as_the_file_does(world):
    header = ["机构编码", "门诊号", "就诊日期", "就诊类型", "科室", "人次", "总费用（元）"]
    rows = [[world["center"].code, "V1", f"{LAST_YEAR}-03-05", "门诊", "全科", "1", "一百"]]

    with pytest.raises(ImportRejected) as caught:
        import_facts(kind="visits", file=csv_file("visits", rows, header=header), actor=None)

    error = caught.value.errors[0]
    assert error["column"] == "total_cost"
    assert error["message"].startswith("第 2 行 总费用（元）（total_cost）：“一百” 不是有效金额")
