"""The import service: a file with any bad row is rejected whole, with the row and column of
each problem, and nothing written; a good file is upserted on its natural key, whatever its
encoding or format, and the touched years are recomputed after commit.

Runs on SQLite (the bulk_create path) and on PostgreSQL (COPY into staging, one merge).
"""

import codecs
import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from core.errors import ActionNotAllowed
from reporting import readers
from reporting.models import BedCapacity, InpatientStay, OutpatientVisit
from reporting.services.imports import ImportRejected, import_facts

from .conftest import HEADERS, LAST_YEAR, beds, csv_bytes, csv_file, stay, visit, xlsx_bytes

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
TOMORROW = (TODAY + datetime.timedelta(days=1)).isoformat()
MODELS = {"visits": OutpatientVisit, "stays": InpatientStay, "beds": BedCapacity}


def rejected(kind: str, file, actor=None) -> ImportRejected:
    before = MODELS[kind].objects.count()
    with pytest.raises(ImportRejected) as caught:
        import_facts(kind=kind, file=file, actor=actor)
    assert MODELS[kind].objects.count() == before, "a rejected file must write nothing"
    return caught.value


def places(exc: ImportRejected) -> list[tuple[int, str]]:
    return [(error["row"], error["column"]) for error in exc.errors]


# --- bad rows: the row as Excel numbers it (header = 1), the column, nothing written ----------

BAD_VISIT_CELLS = [
    pytest.param("institution_code", "NO-SUCH-CODE", id="unknown-institution"),
    pytest.param("visit_date", "2024-02-30", id="impossible-date"),
    pytest.param("visit_date", "05.03.2024", id="day-first-date"),
    pytest.param("visit_date", TOMORROW, id="future-date"),
    pytest.param("record_id", "", id="missing-record-id"),
    pytest.param("total_cost", "", id="missing-cost"),
    pytest.param("visit_type", "inpatient", id="bad-visit-type"),
    pytest.param("visit_count", "1.5", id="non-integer-count"),
    pytest.param("visit_count", "0", id="zero-count"),
    pytest.param("total_cost", "-0.01", id="negative-cost"),
    pytest.param("total_cost", "12.345", id="three-decimals"),
    pytest.param("total_cost", "NaN", id="not-a-number"),
    pytest.param("total_cost", "1e15", id="too-large"),
    pytest.param("department", "科" * 65, id="department-too-long"),
]


@pytest.mark.parametrize(("column", "value"), BAD_VISIT_CELLS)
def test_a_bad_visit_cell_rejects_the_file_naming_its_row_and_column(world, column, value):
    rows = [visit(world["center"], "V1"), visit(world["center"], "V2")]
    rows.append(visit(world["center"], **({"record_id": "V3"} | {column: value})))

    exc = rejected("visits", csv_file("visits", rows))

    assert places(exc) == [(4, column)]
    assert exc.error_count == 1
    assert exc.errors[0]["message"]


def test_a_discharge_before_admission_is_reported_on_the_discharge_date(world):
    rows = [
        stay(
            world["hospital"],
            "S1",
            admit_date=f"{LAST_YEAR}-05-02",
            discharge_date=f"{LAST_YEAR}-05-01",
        )
    ]

    exc = rejected("stays", csv_file("stays", rows))

    assert places(exc) == [(2, "discharge_date")]


@pytest.mark.parametrize(
    ("row", "column"),
    [
        (["NO-SUCH", f"{LAST_YEAR}-01-01", "10"], "institution_code"),
        ([None, f"{LAST_YEAR}-01-01", "-1"], "open_beds"),
        ([None, f"{LAST_YEAR}-01-01", "ten"], "open_beds"),
        ([None, "", "10"], "effective_from"),
        ([None, TOMORROW, "10"], "effective_from"),
    ],
)
def test_a_bad_beds_row_rejects_the_file(world, row, column):
    row[0] = row[0] or world["hospital"].code

    exc = rejected("beds", csv_file("beds", [beds(world["center"]), row]))

    assert places(exc) == [(3, column)]


def test_every_bad_row_is_reported_not_only_the_first(world):
    center = world["center"]
    rows = [
        visit(center, "V1"),
        visit(center, "V2", visit_date="yesterday", total_cost="-5"),
        visit(center, "V3"),
        visit(center, "V4", institution_code="NOPE"),
    ]

    exc = rejected("visits", csv_file("visits", rows))

    assert places(exc) == [(3, "visit_date"), (3, "total_cost"), (5, "institution_code")]
    assert exc.error_count == 2  # bad rows, not problems


def test_a_key_twice_in_the_same_file_is_a_duplicate_row(world):
    center = world["center"]
    rows = [visit(center, "V1"), visit(center, "V2"), visit(center, "V1"), visit(center, "V1")]

    exc = rejected("visits", csv_file("visits", rows))

    assert places(exc) == [(4, "record_id"), (5, "record_id")]
    assert "2" in exc.errors[0]["message"]  # names the first row


def test_the_same_record_id_at_two_institutions_is_no_duplicate(world):
    rows = [visit(world["center"], "V1"), visit(world["hospital"], "V1")]

    result = import_facts(kind="visits", file=csv_file("visits", rows), actor=None)

    assert (result.created, result.updated) == (2, 0)


def test_the_error_list_is_capped_but_every_bad_row_is_counted(world):
    rows = [visit(world["center"], f"V{n}", total_cost="-1") for n in range(1205)]

    exc = rejected("visits", csv_file("visits", rows))

    assert len(exc.errors) == 1000
    assert exc.error_count == 1205
    assert exc.errors[-1]["row"] == 1001


def test_duplicates_and_other_errors_are_listed_in_row_order(world):
    center = world["center"]
    rows = [visit(center, "V1"), visit(center, "V1"), visit(center, "V2", visit_count="x")]

    exc = rejected("visits", csv_file("visits", rows))

    assert places(exc) == [(3, "record_id"), (4, "visit_count")]
    assert exc.error_count == 2


# --- the file as a whole ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "problems"),
    [
        (HEADERS["visits"][:-1], [(1, "total_cost")]),
        ([*HEADERS["visits"][:-1], "visit_date"], [(1, "visit_date"), (1, "total_cost")]),
        (HEADERS["stays"], None),
    ],
    ids=["missing", "twice", "another-kind"],
)
def test_a_wrong_header_rejects_the_file_on_row_one(world, header, problems):
    exc = rejected("visits", csv_file("visits", [visit(world["center"])], header=header))

    assert {row for row, _ in places(exc)} == {1}
    if problems is not None:
        assert set(places(exc)) == set(problems)


def test_the_header_may_list_the_columns_in_any_order_and_case(world):
    header = [name.upper() for name in reversed(HEADERS["beds"])]
    rows = [["80", f"{LAST_YEAR}-01-01", world["center"].code]]

    result = import_facts(kind="beds", file=csv_file("beds", rows, header=header), actor=None)

    assert result.created == 1
    assert BedCapacity.objects.get().open_beds == 80


@pytest.mark.parametrize(
    ("content", "row"),
    [(b"", 1), (codecs.BOM_UTF8, 1), (b"\r\n", 1)],
    ids=["0-bytes", "bom", "eol"],
)
def test_an_empty_file_is_rejected(world, content, row):
    exc = rejected("visits", io.BytesIO(content))

    assert places(exc)[0][0] == row


def test_a_file_with_only_its_header_is_rejected(world):
    exc = rejected("visits", csv_file("visits", []))

    assert places(exc) == [(2, "")]


def test_blank_lines_are_skipped_and_rows_keep_their_excel_numbers(world):
    content = csv_bytes("visits", [visit(world["center"], "V1")]) + b"\r\n,,,,,,\r\n"
    content += ",".join(visit(world["center"], "V2", total_cost="x")).encode() + b"\r\n"

    exc = rejected("visits", io.BytesIO(content))

    assert places(exc) == [(5, "total_cost")]


def test_an_old_office_file_that_is_no_workbook_is_refused_with_a_message(world):
    exc = rejected("visits", io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512))

    assert places(exc) == [(1, "")]
    assert "Excel" in exc.detail


def test_a_decoding_error_late_in_the_file_is_a_row_error_not_a_crash(world):
    good = [visit(world["center"], f"V{n}", department="内科") for n in range(3000)]
    content = csv_bytes("visits", good) + b"XX,\xff\xfe,2024-01-01,,,,1\r\n"

    exc = rejected("visits", io.BytesIO(content))

    assert exc.errors[-1]["column"] == ""
    assert exc.errors[-1]["row"] >= 2


# --- writing: upsert on the natural key ------------------------------------------------------


def test_a_good_visits_file_creates_every_row_with_its_values(world):
    rows = [
        visit(world["center"], "V1"),
        visit(
            world["hospital"],
            "V2",
            visit_type="emergency",
            visit_count="3",
            total_cost="1200",
            department="",
        ),
    ]

    result = import_facts(kind="visits", file=csv_file("visits", rows), actor=None)

    assert (result.created, result.updated, result.rows) == (2, 0, 2)
    v2 = OutpatientVisit.objects.get(record_id="V2")
    assert v2.institution == world["hospital"]
    assert v2.visit_type == "emergency"
    assert v2.visit_count == 3
    assert v2.total_cost == Decimal("1200.00")
    assert v2.department == ""
    assert v2.visit_date == datetime.date(LAST_YEAR, 3, 5)


def test_empty_optional_cells_take_their_defaults(world):
    rows = [visit(world["center"], "V1", visit_type="", visit_count="")]

    import_facts(kind="visits", file=csv_file("visits", rows), actor=None)

    saved = OutpatientVisit.objects.get()
    assert (saved.visit_type, saved.visit_count) == ("outpatient", 1)


def test_importing_the_same_file_twice_updates_and_never_duplicates(world):
    rows = [visit(world["center"], f"V{n}") for n in range(5)]
    content = csv_bytes("visits", rows)

    first = import_facts(kind="visits", file=io.BytesIO(content), actor=None)
    second = import_facts(kind="visits", file=io.BytesIO(content), actor=None)

    assert (first.created, first.updated) == (5, 0)
    assert (second.created, second.updated) == (0, 5)
    assert OutpatientVisit.objects.count() == 5


def test_a_corrected_file_changes_the_values_of_existing_rows(world):
    import_facts(
        kind="stays",
        file=csv_file("stays", [stay(world["hospital"], "S1", discharge_date="")]),
        actor=None,
    )
    assert InpatientStay.objects.get().discharge_date is None

    corrected = [
        stay(world["hospital"], "S1", discharge_date=f"{LAST_YEAR}-03-20", total_cost="9000"),
        stay(world["hospital"], "S2"),
    ]
    result = import_facts(kind="stays", file=csv_file("stays", corrected), actor=None)

    assert (result.created, result.updated) == (1, 1)
    s1 = InpatientStay.objects.get(stay_id="S1")
    assert s1.discharge_date == datetime.date(LAST_YEAR, 3, 20)
    assert s1.total_cost == Decimal("9000.00")


def test_beds_are_keyed_by_institution_and_date(world):
    rows = [
        beds(world["hospital"], f"{LAST_YEAR}-01-01", "500"),
        beds(world["hospital"], f"{LAST_YEAR}-07-01", "520"),
    ]
    import_facts(kind="beds", file=csv_file("beds", rows), actor=None)

    again = [beds(world["hospital"], f"{LAST_YEAR}-07-01", "530")]
    result = import_facts(kind="beds", file=csv_file("beds", again), actor=None)

    assert (result.created, result.updated) == (0, 1)
    assert sorted(BedCapacity.objects.values_list("open_beds", flat=True)) == [500, 530]


def test_a_rejected_reimport_leaves_the_earlier_rows_as_they_were(world):
    import_facts(kind="visits", file=csv_file("visits", [visit(world["center"])]), actor=None)

    rows = [visit(world["center"], total_cost="999"), visit(world["center"], "V2", total_cost="")]
    rejected("visits", csv_file("visits", rows))

    assert OutpatientVisit.objects.get().total_cost == Decimal("125.50")


# --- encodings and formats -------------------------------------------------------------------


def chinese_rows(world) -> list[list]:
    return [
        visit(world["center"], "V1", department="全科医学科", visit_type="门诊"),
        visit(world["center"], "V2", department="急诊医学科", visit_type="急诊"),
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_in_every_encoding_excel_writes_imports_the_same(world, encoding):
    file = csv_file("visits", chinese_rows(world), encoding=encoding)

    result = import_facts(kind="visits", file=file, actor=None)

    assert result.created == 2
    assert dict(OutpatientVisit.objects.values_list("department", "visit_type")) == {
        "全科医学科": "outpatient",
        "急诊医学科": "emergency",
    }


def test_gb18030_is_recognised_when_the_chinese_starts_far_into_the_file(world):
    rows = [visit(world["center"], f"V{n:05d}", department="") for n in range(3000)]
    rows.append(visit(world["center"], "LAST", department="康复医学科"))
    content = csv_bytes("visits", rows, encoding="gb18030")
    assert content.index("康".encode("gb18030")) > readers.SAMPLE_BYTES

    import_facts(kind="visits", file=io.BytesIO(content), actor=None)

    assert OutpatientVisit.objects.get(record_id="LAST").department == "康复医学科"


def test_a_character_cut_at_the_end_of_the_sample_is_still_utf8():
    content = b"a," + "门".encode() * (readers.SAMPLE_BYTES // 3 + 10)
    assert (readers.SAMPLE_BYTES % 3) != 0  # the sample ends inside a character

    assert readers.detect_encoding(io.BytesIO(content)) == "utf-8"


def test_a_short_gbk_text_is_not_taken_for_utf8():
    assert readers.detect_encoding(io.BytesIO("门诊,急诊".encode("gbk"))) == "gb18030"


def test_dates_as_excel_writes_them_into_csv_are_accepted(world):
    rows = [visit(world["center"], visit_date=f"{LAST_YEAR}/3/5")]

    import_facts(kind="visits", file=csv_file("visits", rows), actor=None)

    assert OutpatientVisit.objects.get().visit_date == datetime.date(LAST_YEAR, 3, 5)


def excel_datetime(*parts) -> datetime.datetime:
    return datetime.datetime(*parts)  # noqa: DTZ001 - Excel cells carry no time zone


def test_an_xlsx_workbook_with_real_dates_and_numbers_imports(world):
    rows = [
        [world["center"].code, "X1", excel_datetime(LAST_YEAR, 3, 5), "门诊", "全科", 2, 125.5],
        [world["center"].code, 1002, datetime.date(LAST_YEAR, 3, 6), "急诊", None, None, 80],
    ]

    result = import_facts(kind="visits", file=io.BytesIO(xlsx_bytes("visits", rows)), actor=None)

    assert result.created == 2
    x1 = OutpatientVisit.objects.get(record_id="X1")
    assert (x1.visit_date, x1.visit_count, x1.total_cost) == (
        datetime.date(LAST_YEAR, 3, 5),
        2,
        Decimal("125.50"),
    )
    assert OutpatientVisit.objects.get(record_id="1002").visit_type == "emergency"


def test_an_xlsx_workbook_reports_bad_rows_by_their_excel_row(world):
    rows = [
        [world["center"].code, "X1", datetime.date(LAST_YEAR, 3, 5), "门诊", "", 1, 10],
        [world["center"].code, "X2", "not a date", "门诊", "", 1, 10],
    ]

    exc = rejected("visits", io.BytesIO(xlsx_bytes("visits", rows)))

    assert places(exc) == [(3, "visit_date")]


# --- who may import for which institutions ----------------------------------------------------


def test_the_office_imports_only_for_institutions_of_its_alliance(world, alliance_office):
    rows = [visit(world["center"], "V1"), visit(world["foreign_center"], "V2")]

    exc = rejected("visits", csv_file("visits", rows), actor=alliance_office)

    assert places(exc) == [(3, "institution_code")]


def test_the_office_imports_for_stations_under_its_member_centres(world, alliance_office):
    rows = [visit(world["station"], "V1")]

    result = import_facts(kind="visits", file=csv_file("visits", rows), actor=alliance_office)

    assert result.created == 1


def test_clinical_staff_may_not_import(clinic_doctor, world):
    with pytest.raises(ActionNotAllowed):
        import_facts(
            kind="visits", file=csv_file("visits", [visit(world["center"])]), actor=clinic_doctor
        )
    assert not OutpatientVisit.objects.exists()


# --- recomputation after commit ---------------------------------------------------------------


def queued_years(callbacks) -> dict[int, list[int]]:
    return {callback.args[0]: callback.args[1] for callback in callbacks}


def test_each_touched_year_is_recomputed_once_after_commit(
    world, django_capture_on_commit_callbacks
):
    rows = [
        visit(world["center"], "V1", visit_date=f"{LAST_YEAR - 1}-12-31"),
        visit(world["center"], "V2", visit_date=f"{LAST_YEAR}-01-01"),
        visit(world["hospital"], "V3", visit_date=f"{LAST_YEAR}-06-01"),
    ]
    with django_capture_on_commit_callbacks() as callbacks:
        import_facts(kind="visits", file=csv_file("visits", rows), actor=None)

    assert queued_years(callbacks) == {
        LAST_YEAR - 1: [world["center"].pk],
        LAST_YEAR: sorted([world["center"].pk, world["hospital"].pk]),
    }


def test_a_row_moved_to_another_year_recomputes_its_old_year_too(
    world, django_capture_on_commit_callbacks
):
    old = [visit(world["center"], "V1", visit_date=f"{LAST_YEAR - 2}-05-01")]
    import_facts(kind="visits", file=csv_file("visits", old), actor=None)
    moved = [visit(world["center"], "V1", visit_date=f"{LAST_YEAR}-05-01")]

    with django_capture_on_commit_callbacks() as callbacks:
        import_facts(kind="visits", file=csv_file("visits", moved), actor=None)

    assert set(queued_years(callbacks)) == {LAST_YEAR - 2, LAST_YEAR}


def test_an_open_stay_and_a_bed_record_touch_every_year_up_to_now(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        rows = [
            stay(world["hospital"], "S1", admit_date=f"{LAST_YEAR - 1}-12-20", discharge_date="")
        ]
        import_facts(kind="stays", file=csv_file("stays", rows), actor=None)
        rows = [beds(world["center"], f"{LAST_YEAR}-01-01")]
        import_facts(kind="beds", file=csv_file("beds", rows), actor=None)

    years = [callback.args[0] for callback in callbacks]
    assert years == [LAST_YEAR - 1, LAST_YEAR, TODAY.year, LAST_YEAR, TODAY.year]


def test_a_rejected_file_queues_no_recomputation(world, django_capture_on_commit_callbacks):
    rows = [visit(world["center"], "V1"), visit(world["center"], "V2", total_cost="-1")]
    with django_capture_on_commit_callbacks() as callbacks:
        rejected("visits", csv_file("visits", rows))

    assert callbacks == []


# --- the management command ------------------------------------------------------------------


def test_the_command_imports_for_any_institution_and_prints_the_counts(world, tmp_path):
    path = tmp_path / "visits.csv"
    path.write_bytes(csv_bytes("visits", [visit(world["foreign_center"]), visit(world["center"])]))
    out = io.StringIO()

    call_command("import_facts", "visits", str(path), stdout=out)

    assert out.getvalue().strip() == "created 2, updated 0"


def test_the_command_prints_each_bad_row_and_fails(world, tmp_path):
    path = tmp_path / "stays.csv"
    rows = [
        stay(world["hospital"], "S1", total_cost="-1"),
        stay(world["hospital"], "S2", admit_date=""),
    ]
    path.write_bytes(csv_bytes("stays", rows, encoding="gb18030"))
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_facts", "stays", str(path), stderr=err)

    lines = err.getvalue().splitlines()
    assert lines[0] == "第 2 行 total_cost：“-1” 是负数：费用应不小于 0。"
    assert lines[1] == "第 3 行 admit_date：为空，此列必填。"
    assert not InpatientStay.objects.exists()


def test_the_command_previews_with_dry_run_and_writes_nothing(world, tmp_path):
    path = tmp_path / "visits.csv"
    path.write_bytes(csv_bytes("visits", [visit(world["center"], "V1", visit_count="3")]))
    out = io.StringIO()

    call_command("import_facts", "visits", str(path), "--dry-run", stdout=out)

    assert out.getvalue().splitlines() == [
        f"{world['center'].code} {LAST_YEAR}-03: 0 → 3",
        "preview: would create 1, update 0",
    ]
    assert not OutpatientVisit.objects.exists()


def test_the_command_reports_a_missing_file(world, tmp_path):
    with pytest.raises(CommandError):
        call_command("import_facts", "beds", str(tmp_path / "nope.csv"))


def test_a_nul_character_in_a_text_cell_is_a_row_error_not_a_database_error(world):
    rows = [visit(world["center"], "V1"), visit(world["center"], "V\x002")]

    exc = rejected("visits", csv_file("visits", rows))

    assert places(exc) == [(3, "record_id")]


def test_an_xlsx_date_with_a_time_of_day_counts_for_its_day(world):
    rows = [[world["center"].code, "X1", excel_datetime(LAST_YEAR, 3, 5, 14, 30), "", "", 1, 9]]

    import_facts(kind="visits", file=io.BytesIO(xlsx_bytes("visits", rows)), actor=None)

    assert OutpatientVisit.objects.get().visit_date == datetime.date(LAST_YEAR, 3, 5)
