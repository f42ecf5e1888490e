"""Fact files for the import tests: rows as lists in the file's column order, written as CSV
(in any encoding) or XLSX bytes."""

import io

import pytest
from django.utils import timezone
from openpyxl import Workbook

from alliance.choices import Role
from tests.kit.factories import AllianceFactory, MembershipFactory, staff_user

HEADERS = {
    "visits": [
        "institution_code",
        "record_id",
        "visit_date",
        "visit_type",
        "department",
        "visit_count",
        "total_cost",
    ],
    "stays": [
        "institution_code",
        "stay_id",
        "admit_date",
        "discharge_date",
        "department",
        "total_cost",
    ],
    "beds": ["institution_code", "effective_from", "open_beds"],
}

LAST_YEAR = timezone.localdate().year - 1


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def visit(institution, record_id="V1", **overrides) -> list:
    values = {
        "institution_code": institution.code,
        "record_id": record_id,
        "visit_date": f"{LAST_YEAR}-03-05",
        "visit_type": "outpatient",
        "department": "全科",
        "visit_count": "1",
        "total_cost": "125.50",
    } | overrides
    return [values[name] for name in HEADERS["visits"]]


def stay(institution, stay_id="S1", **overrides) -> list:
    values = {
        "institution_code": institution.code,
        "stay_id": stay_id,
        "admit_date": f"{LAST_YEAR}-03-01",
        "discharge_date": f"{LAST_YEAR}-03-08",
        "department": "心内科",
        "total_cost": "8620.00",
    } | overrides
    return [values[name] for name in HEADERS["stays"]]


def beds(institution, effective_from=f"{LAST_YEAR}-01-01", open_beds="120") -> list:
    return [institution.code, effective_from, open_beds]


def csv_bytes(kind: str, rows: list[list], *, encoding="utf-8", header=None) -> bytes:
    lines = [header if header is not None else HEADERS[kind], *rows]
    text = "".join(",".join(str(value) for value in line) + "\r\n" for line in lines)
    return text.encode(encoding)


def csv_file(kind: str, rows: list[list], **kwargs) -> io.BytesIO:
    return io.BytesIO(csv_bytes(kind, rows, **kwargs))


def xlsx_bytes(kind: str, rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS[kind])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def other_alliance(world):
    """A second alliance led by the centre outside Lingang, with an office of its own."""
    alliance = AllianceFactory(name="奉贤医联体", lead_institution=world["foreign_center"])
    MembershipFactory(alliance=alliance, institution=world["foreign_center"])
    return alliance


@pytest.fixture
def other_office(other_alliance, world):
    return staff_user(Role.ALLIANCE_OFFICE, world["foreign_center"], username="other_office")
