"""Identity documents of real residents: numbers issued under region codes abolished since, the
documents other than the resident identity card, and residents with no document yet."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from alliance.choices import IdType
from alliance.models import AccessLog, Patient
from alliance.validators import mask_id_number
from tests.alliance.test_patient_pages import logged_in
from tests.kit.factories import PatientFactory, valid_id_number

pytestmark = pytest.mark.django_db

NEW_PAGE = "/alliance/patients/new/"


def payload(world, **overrides) -> dict:
    return {
        "name": "陆阿婆",
        "phone": "13812345678",
        "address": "泥城镇云水路1号",
        "home_institution": world["center"].pk,
    } | overrides


def register(api, user, data):
    return api.as_user(user).post("/api/v1/patients/", data, format="json")


def errors_of(response) -> dict:
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()["errors"]


# -- region codes of any time ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "birth"),
    [
        ("310225", datetime.date(1950, 3, 8)),  # 南汇县, abolished 2001
        ("310115", datetime.date(1972, 6, 1)),  # 浦东新区 (from 1992), holder born before it
        ("310226", datetime.date(1946, 1, 20)),  # 奉贤县
        ("310119", datetime.date(1938, 9, 9)),  # 南汇区, 2001-2009
        ("310103", datetime.date(1961, 12, 31)),  # 卢湾区, abolished 2011
        ("310108", datetime.date(2016, 2, 29)),  # 闸北区, abolished 2015; a leap day
    ],
)
def test_numbers_issued_under_any_historical_region_code_are_registered(
    api, clinic_doctor, world, region, birth
):
    number = valid_id_number(3, birth=birth, male=False, region=region)

    response = register(api, clinic_doctor, payload(world, id_number=number))

    assert response.status_code == 201, response.content
    patient = Patient.objects.get(pk=response.json()["id"])
    assert patient.id_type == IdType.RESIDENT
    assert (patient.birth_date, patient.gender) == (birth, "female")


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (valid_id_number(1, region="999999"), "999999 不是任何时期的行政区划代码（GB/T 2260）。"),
        (valid_id_number(1, region="310199"), "310199 不是任何时期的行政区划代码（GB/T 2260）。"),
        (
            valid_id_number(1, region="810000"),
            "810000 不是任何时期的行政区划代码（GB/T 2260）。",
        ),
        ("310115199902300015", "身份证号中的出生日期（19990230）不是真实的日期。"),
        ("31011519720604001X", "该身份证号的校验位有误。"),
        ("3101151972060400", "请输入有效的 18 位居民身份证号码：17 位数字加一位校验码。"),
        (
            valid_id_number(1, birth=datetime.date(1900, 1, 1)),
            "身份证号中的出生日期早于 120 年前。",
        ),
        (
            valid_id_number(1, birth=datetime.date(2099, 1, 1)),
            "该身份证号中的出生日期晚于当前日期。",
        ),
    ],
)
def test_a_wrong_identity_card_number_is_a_400_saying_what_is_wrong(
    api, clinic_doctor, world, number, message
):
    response = register(api, clinic_doctor, payload(world, id_number=number))

    assert errors_of(response)["id_number"] == [message]
    assert not Patient.objects.filter(name="陆阿婆").exists()
    assert not AccessLog.objects.patient_accesses().exists()


def test_the_registration_page_takes_an_old_code_without_asking_for_sex_or_birth_date(
    world, clinic_doctor
):
    number = valid_id_number(9, birth=datetime.date(1950, 3, 8), region="310225")
    data = payload(world, id_type="resident", id_number=number, gender="", birth_date="")

    response = logged_in(clinic_doctor).post(NEW_PAGE, data)

    assert response.status_code == 302, response.context["form"].errors
    patient = Patient.objects.get(name="陆阿婆")
    assert (patient.birth_date, patient.gender) == (datetime.date(1950, 3, 8), "male")


def test_the_registration_page_never_contradicts_the_number(world, clinic_doctor):
    number = valid_id_number(9, birth=datetime.date(1950, 3, 8), male=False, region="310225")
    data = payload(world, id_number=number, gender="male", birth_date="1960-01-01")

    response = logged_in(clinic_doctor).post(NEW_PAGE, data)

    assert response.status_code == 302
    patient = Patient.objects.get(name="陆阿婆")
    assert (patient.birth_date, patient.gender) == (datetime.date(1950, 3, 8), "female")


# -- other documents ------------------------------------------------------------------------


def test_a_hong_kong_residence_permit_is_registered_with_sex_and_birth_from_its_number(
    api, clinic_doctor, world
):
    number = valid_id_number(5, birth=datetime.date(1985, 6, 12), male=False, region="810000")

    response = register(
        api, clinic_doctor, payload(world, id_type="hmt_residence", id_number=number)
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id_type"] == "hmt_residence" and body["id_number"] == mask_id_number(number)
    assert (body["gender"], body["birth_date"]) == ("female", "1985-06-12")


def test_a_residence_permit_number_must_start_with_a_hong_kong_macao_or_taiwan_code(
    api, clinic_doctor, world
):
    number = valid_id_number(5, region="310115")

    response = register(
        api, clinic_doctor, payload(world, id_type="hmt_residence", id_number=number)
    )

    assert errors_of(response)["id_number"] == [
        "港澳台居民居住证号码以 810000、820000 或 830000 开头。"
    ]


def test_a_foreigners_permanent_residence_card_starts_with_9(api, clinic_doctor, world):
    good = valid_id_number(6, birth=datetime.date(1979, 2, 3), region="931840")
    bad = valid_id_number(6, birth=datetime.date(1979, 2, 3), region="310115")

    accepted = register(
        api, clinic_doctor, payload(world, id_type="foreign_permanent", id_number=good)
    )
    refused = register(
        api, clinic_doctor, payload(world, id_type="foreign_permanent", id_number=bad, name="B")
    )

    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["birth_date"] == "1979-02-03"
    assert errors_of(refused)["id_number"] == ["18 位外国人永久居留身份证号码以 9 开头。"]


def test_a_passport_holder_gives_sex_and_birth_date_and_the_number_is_masked(
    api, clinic_doctor, world
):
    data = payload(
        world, id_type="passport", id_number="e5123 4567", gender="male", birth_date="1978-03-02"
    )

    response = register(api, clinic_doctor, data)

    assert response.status_code == 201, response.content
    assert response.json()["id_number"] == "E5*****67"
    patient = Patient.objects.get(pk=response.json()["id"])
    assert patient.id_number == "E51234567"
    assert Patient.objects.with_id_number("E51234567").get() == patient
    with connection.cursor() as cursor:  # encrypted at rest like every other number
        cursor.execute("SELECT id_number FROM alliance_patient WHERE id = %s", [patient.pk])
        assert "E51234567" not in cursor.fetchone()[0]


def test_a_passport_without_birth_date_or_sex_is_a_400_naming_both(api, clinic_doctor, world):
    response = register(
        api, clinic_doctor, payload(world, id_type="passport", id_number="E51234567")
    )

    errors = errors_of(response)
    assert errors["birth_date"] == ["请填写出生日期：该证件上没有出生日期。"]
    assert errors["gender"] == ["请选择性别：该证件上没有性别。"]


def test_a_passport_number_of_other_characters_is_refused(api, clinic_doctor, world):
    data = payload(
        world, id_type="passport", id_number="E51-234", gender="male", birth_date="1978-03-02"
    )

    assert errors_of(register(api, clinic_doctor, data))["id_number"] == [
        "护照号码为 5 至 17 位字母和数字。"
    ]


def test_newborns_without_a_document_are_registered_side_by_side(api, clinic_doctor, world):
    for name in ("新生儿甲", "新生儿乙"):
        data = payload(
            world,
            name=name,
            id_type="none",
            id_number="",
            gender="female",
            birth_date=(timezone.localdate() - datetime.timedelta(days=3)).isoformat(),
        )
        response = register(api, clinic_doctor, data)
        assert response.status_code == 201, response.content
        assert response.json()["id_number"] == ""

    assert Patient.objects.filter(id_type=IdType.NONE, id_number_hash__isnull=True).count() == 2


def test_a_number_given_for_a_resident_without_a_document_is_refused(api, clinic_doctor, world):
    data = payload(
        world, id_type="none", id_number="E51234567", gender="male", birth_date="2026-01-01"
    )

    assert errors_of(register(api, clinic_doctor, data))["id_number"] == [
        "无证件的居民没有证件号码：请选择证件类型。"
    ]


def test_a_card_holder_without_a_number_is_refused(api, clinic_doctor, world):
    assert errors_of(register(api, clinic_doctor, payload(world, id_number="")))["id_number"]


def test_lookup_finds_a_passport_holder_by_type_and_number(api, clinic_doctor, world):
    patient = PatientFactory(
        home_institution=world["center"],
        id_type=IdType.PASSPORT,
        id_number="G12345678",
        gender="male",
        birth_date=datetime.date(1980, 1, 1),
    )

    found = api.as_user(clinic_doctor).post(
        "/api/v1/patients/lookup/", {"id_type": "passport", "id_number": "g1234 5678"}, "json"
    )
    as_card = api.as_user(clinic_doctor).post(
        "/api/v1/patients/lookup/", {"id_number": "G12345678"}, "json"
    )

    assert found.status_code == 200 and found.json()["id"] == patient.pk
    assert "id_number" in errors_of(as_card)


def test_masking_keeps_region_and_last_four_or_two_of_a_short_number():
    assert mask_id_number("310225195003080019") == "310225********0019"
    assert mask_id_number("E51234567") == "E5*****67"
    assert mask_id_number("12345") == "*****"
    assert mask_id_number("") == ""


# -- the demo -------------------------------------------------------------------------------


def test_the_demo_has_elderly_residents_with_abolished_codes_and_other_documents(db):
    from alliance import demo

    demo.load_demo()

    assert not hasattr(demo, "region_at_birth")
    residents = list(Patient.objects.all())
    regions = {p.id_number[:6] for p in residents if p.id_type == IdType.RESIDENT}
    assert {"310225", "310226", "310119", "310103", "310108"} <= regions
    elderly_old_codes = [
        p
        for p in residents
        if p.id_number[:6] in {"310225", "310226", "310119", "310103", "310108"}
        and p.birth_date.year < 1960
    ]
    assert elderly_old_codes
    assert {p.id_type for p in residents} == set(IdType.values) - {IdType.FOREIGN_PERMANENT}
    for patient in residents:
        patient.full_clean(validate_unique=False)  # every demo record passes today's rules
