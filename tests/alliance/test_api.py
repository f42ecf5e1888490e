"""The alliance REST API: token auth, reference data, and the restricted patient records.

Unhappy paths first in each section. A row the user may not see is a 404 (STYLE.md), every error
is JSON with a `detail`, and identity numbers never leave the API unmasked.
"""

import datetime
import json
import re

import pytest
from django.utils import timezone

from alliance.choices import InstitutionKind, Specialty
from alliance.models import AccessLog, Patient, SpecialtyNetwork
from alliance.validators import birth_date_from_id_number, gender_from_id_number
from core.choices import AccessKind
from tests.conftest import PERSONAS
from tests.kit.factories import (
    AllianceFactory,
    DepartmentFactory,
    HospitalFactory,
    InstitutionFactory,
    MembershipFactory,
    PatientFactory,
    StationFactory,
    valid_id_number,
)

pytestmark = pytest.mark.django_db

MASKED_ID = re.compile(r"^\d{6}\*{8}[\dX]{4}$")
MASKED_MOBILE = re.compile(r"^1\d{2}\*{4}\d{4}$")
BIRTH = datetime.date(1998, 3, 2)  # Pudong (310115) numbers start in 1993


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"]
    return body


def names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def wrong_check_digit(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def patient_payload(institution, n: int = 7, **overrides) -> dict:
    data = {
        "name": "陈静",
        "gender": "female",
        "birth_date": BIRTH.isoformat(),
        "id_number": valid_id_number(n, birth=BIRTH, male=False),
        "phone": "13812345678",
        "address": "泥城镇云水路1号",
        "home_institution": institution.pk,
    }
    data.update(overrides)
    return data


# --- Authentication ---------------------------------------------------------------------------


def test_token_with_a_wrong_password_is_a_400_with_a_detail(api, clinic_doctor):
    response = api.post(
        "/api/v1/auth/token/", {"username": "clinic_doctor", "password": "wrong"}, format="json"
    )

    assert_json_error(response, 400)
    assert "token" not in response.json()


def test_token_for_an_unknown_user_is_a_400(api, world):
    response = api.post(
        "/api/v1/auth/token/", {"username": "nobody", "password": "pw-for-tests"}, format="json"
    )

    assert_json_error(response, 400)


def test_token_without_a_password_names_the_missing_field(api, clinic_doctor):
    response = api.post("/api/v1/auth/token/", {"username": "clinic_doctor"}, format="json")

    body = assert_json_error(response, 400)
    assert "password" in body["errors"]


def test_token_for_a_deactivated_account_is_refused(api, clinic_doctor):
    clinic_doctor.is_active = False
    clinic_doctor.save()

    response = api.post(
        "/api/v1/auth/token/",
        {"username": "clinic_doctor", "password": "pw-for-tests"},
        format="json",
    )

    assert_json_error(response, 400)


def test_token_is_issued_for_the_right_password_and_authenticates(api, clinic_doctor):
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "clinic_doctor", "password": "pw-for-tests"},
        format="json",
    )

    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "clinic_doctor"


def restricted_urls(world) -> list[str]:
    return [
        "/api/v1/",
        "/api/v1/me/",
        "/api/v1/institutions/",
        f"/api/v1/institutions/{world['hospital'].pk}/",
        "/api/v1/departments/",
        f"/api/v1/departments/{world['cardiology'].pk}/",
        "/api/v1/alliances/",
        f"/api/v1/alliances/{world['alliance'].pk}/",
        "/api/v1/patients/",
        f"/api/v1/patients/{world['patient'].pk}/",
    ]


def test_every_endpoint_without_credentials_is_a_401_json(api, world):
    for url in restricted_urls(world):
        response = api.get(url)
        assert response.status_code == 401, url
        assert response["Content-Type"].startswith("application/json"), url
        assert response.json()["detail"], url


def test_an_unknown_token_is_a_401_json(api, world):
    api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    for url in restricted_urls(world):
        assert_json_error(api.get(url), 401)


def test_writing_a_patient_without_credentials_is_a_401_and_writes_nothing(api, world):
    before = Patient.objects.count()

    create = api.post("/api/v1/patients/", patient_payload(world["center"]), format="json")
    update = api.patch(f"/api/v1/patients/{world['patient'].pk}/", {"name": "改名"}, format="json")

    assert_json_error(create, 401)
    assert_json_error(update, 401)
    assert Patient.objects.count() == before
    assert not AccessLog.objects.patient_accesses().exists()


def test_me_describes_the_users_institution_and_role(api, clinic_doctor, world):
    body = api.as_user(clinic_doctor).get("/api/v1/me/").json()

    assert body["role"] == "community_staff"
    assert body["institution"] == world["center"].pk
    assert body["is_superuser"] is False


def test_me_of_an_account_without_a_profile_has_no_role(api, no_profile_user):
    body = api.as_user(no_profile_user).get("/api/v1/me/").json()

    assert body["role"] is None
    assert body["institution"] is None


# --- Institutions -----------------------------------------------------------------------------


def test_unknown_institution_is_a_404_json(api, clinic_doctor):
    assert_json_error(api.as_user(clinic_doctor).get("/api/v1/institutions/999999/"), 404)


def test_non_numeric_institution_id_is_a_404_json(api, clinic_doctor):
    assert_json_error(api.as_user(clinic_doctor).get("/api/v1/institutions/abc/"), 404)


@pytest.mark.parametrize("page", ["abc", "0", "-1", "999", "1.5"])
def test_a_bad_page_number_is_a_404_json_never_a_500(api, clinic_doctor, page):
    response = api.as_user(clinic_doctor).get("/api/v1/institutions/", {"page": page})

    assert_json_error(response, 404)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tier", "bogus"),
        ("kind", "hospital"),
        ("district", "999999"),
        ("district", "abc"),
        ("parent", "abc"),
        ("alliance", "abc"),
        ("alliance", "1.5"),
        ("alliance", "999999"),
        ("alliance", "99999999999999999999999"),
        ("district", "99999999999999999999999"),
    ],
)
def test_an_invalid_institution_filter_is_a_400_naming_the_field(api, clinic_doctor, field, value):
    response = api.as_user(clinic_doctor).get("/api/v1/institutions/", {field: value})

    body = assert_json_error(response, 400)
    assert field in body["errors"]
    assert field in body["detail"]


def test_institutions_are_read_only(api, superuser, world):
    api.as_user(superuser)

    create = api.post("/api/v1/institutions/", {"name": "新机构"}, format="json")
    delete = api.delete(f"/api/v1/institutions/{world['hospital'].pk}/")

    assert_json_error(create, 405)
    assert_json_error(delete, 405)


def test_institution_list_is_paginated(api, clinic_doctor, world):
    response = api.as_user(clinic_doctor).get("/api/v1/institutions/", {"page_size": 3})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 6
    assert len(body["results"]) == 3
    assert body["previous"] is None
    assert "page=2" in body["next"]


def test_page_size_is_capped(api, clinic_doctor, world):
    InstitutionFactory.create_batch(205 - 6)

    body = api.as_user(clinic_doctor).get("/api/v1/institutions/", {"page_size": 1000}).json()

    assert body["count"] == 205
    assert len(body["results"]) == 200


def test_institution_items_carry_the_directory_fields(api, clinic_doctor, world):
    station = world["station"]
    station.latitude, station.longitude = "30.908000", "121.823600"
    station.save()

    response = api.as_user(clinic_doctor).get(f"/api/v1/institutions/{station.pk}/")

    assert response.status_code == 200
    item = response.json()
    expected = {"id", "code", "name", "short_name", "kind", "tier", "parent", "district"}
    assert expected | {"latitude", "longitude"} <= set(item)
    assert item["id"] == station.pk
    assert item["code"] == station.code
    assert item["name"] == "泥城镇公平村卫生室"
    assert item["short_name"] == station.short_name
    assert item["kind"] == "village_clinic"
    assert item["tier"] == "primary"
    assert item["parent"] == world["center"].pk
    assert item["district"] == world["pudong"].pk
    assert item["latitude"] == pytest.approx(30.908)
    assert item["longitude"] == pytest.approx(121.8236)


def test_tier_follows_the_kind_and_is_null_for_other(api, clinic_doctor, world):
    results = api.as_user(clinic_doctor).get("/api/v1/institutions/").json()["results"]
    tiers = {row["name"]: row["tier"] for row in results}

    assert tiers["临港院区"] == "tertiary"
    assert tiers["泥城社区卫生服务中心"] == "primary"
    assert tiers["浦东新区卫生健康委员会"] is None
    assert set(tiers.values()) <= {"tertiary", "secondary", "primary", None}


def test_institution_without_coordinates_has_null_latitude_and_longitude(api, clinic_doctor, world):
    item = api.as_user(clinic_doctor).get(f"/api/v1/institutions/{world['bureau'].pk}/").json()

    assert item["latitude"] is None
    assert item["longitude"] is None
    assert item["parent"] is None


def test_code_filter_matches_exactly(api, clinic_doctor, world):
    api.as_user(clinic_doctor)
    code = world["center"].code

    assert names(api.get("/api/v1/institutions/", {"code": code})) == {"泥城社区卫生服务中心"}
    assert names(api.get("/api/v1/institutions/", {"code": code[:-1]})) == set()
    assert names(api.get("/api/v1/institutions/", {"code": code + "0"})) == set()


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        (
            "primary",
            {
                "泥城社区卫生服务中心",
                "泥城镇公平村卫生室",
                "四团平安社区卫生服务中心",
                "联盟外社区卫生服务中心",
            },
        ),
        ("tertiary", {"临港院区"}),
        ("secondary", set()),
    ],
)
def test_tier_filter(api, clinic_doctor, world, tier, expected):
    response = api.as_user(clinic_doctor).get("/api/v1/institutions/", {"tier": tier})

    assert names(response) == expected


def test_kind_filter(api, clinic_doctor, world):
    response = api.as_user(clinic_doctor).get("/api/v1/institutions/", {"kind": "village_clinic"})

    assert names(response) == {"泥城镇公平村卫生室"}


def test_district_filter(api, clinic_doctor, world):
    response = api.as_user(clinic_doctor).get(
        "/api/v1/institutions/", {"district": world["fengxian"].pk}
    )

    assert names(response) == {"四团平安社区卫生服务中心", "联盟外社区卫生服务中心"}


def test_alliance_filter_brings_the_stations_of_member_centres(api, clinic_doctor, world):
    response = api.as_user(clinic_doctor).get(
        "/api/v1/institutions/", {"alliance": world["alliance"].pk}
    )

    assert names(response) == {
        "临港院区",
        "泥城社区卫生服务中心",
        "泥城镇公平村卫生室",
        "四团平安社区卫生服务中心",
    }


def test_search_finds_the_hospital_by_its_department_name(api, clinic_doctor, world):
    api.as_user(clinic_doctor)

    assert names(api.get("/api/v1/institutions/", {"q": "心内"})) == {"临港院区"}
    assert names(api.get("/api/v1/institutions/", {"q": "胸痛"})) == {"临港院区"}


def test_search_finds_a_hospital_by_the_chinese_specialty_label(api, clinic_doctor, world):
    other = HospitalFactory(name="奉贤区中心医院", district=world["fengxian"])
    DepartmentFactory(institution=other, name="一病区", specialty=Specialty.ENDOCRINOLOGY)

    response = api.as_user(clinic_doctor).get("/api/v1/institutions/", {"q": "内分泌"})

    assert names(response) == {"奉贤区中心医院"}


def test_search_finds_a_hospital_by_the_english_specialty_label(api, clinic_doctor, world):
    other = HospitalFactory(name="奉贤区中心医院", district=world["fengxian"])
    DepartmentFactory(institution=other, name="一病区", specialty=Specialty.ENDOCRINOLOGY)

    response = api.as_user(clinic_doctor).get("/api/v1/institutions/", {"q": "endocrin"})

    assert names(response) == {"奉贤区中心医院"}


def test_search_ignores_inactive_departments(api, clinic_doctor, world):
    cardiology = world["cardiology"]
    cardiology.is_active = False
    cardiology.save()

    response = api.as_user(clinic_doctor).get("/api/v1/institutions/", {"q": "胸痛"})

    assert names(response) == set()


def test_search_by_name_and_combined_with_a_filter(api, clinic_doctor, world):
    api.as_user(clinic_doctor)

    assert names(api.get("/api/v1/institutions/", {"q": "社区卫生服务中心"})) == {
        "泥城社区卫生服务中心",
        "四团平安社区卫生服务中心",
        "联盟外社区卫生服务中心",
    }
    combined = api.get(
        "/api/v1/institutions/", {"q": "社区卫生服务中心", "district": world["pudong"].pk}
    )
    assert names(combined) == {"泥城社区卫生服务中心"}


def test_ordering_by_beds_and_by_name(api, clinic_doctor, world):
    api.as_user(clinic_doctor)

    by_beds = api.get("/api/v1/institutions/", {"ordering": "-approved_beds"}).json()["results"]
    by_name = api.get("/api/v1/institutions/", {"ordering": "name"}).json()["results"]
    by_name_desc = api.get("/api/v1/institutions/", {"ordering": "-name"}).json()["results"]

    assert by_beds[0]["name"] == "临港院区"
    beds = [row["approved_beds"] for row in by_beds]
    assert beds == sorted(beds, reverse=True)
    # Compared with each other, not with Python's sort: the database collation decides.
    assert [row["id"] for row in by_name_desc] == [row["id"] for row in reversed(by_name)]


def test_ordering_by_an_unlisted_field_is_ignored_not_an_error(api, clinic_doctor, world):
    response = api.as_user(clinic_doctor).get("/api/v1/institutions/", {"ordering": "phone"})

    assert response.status_code == 200
    assert response.json()["count"] == 6


# --- Departments ------------------------------------------------------------------------------


def test_unknown_department_is_a_404_json(api, clinic_doctor):
    assert_json_error(api.as_user(clinic_doctor).get("/api/v1/departments/999999/"), 404)


@pytest.mark.parametrize(
    ("field", "value"),
    [("specialty", "bogus"), ("institution", "abc"), ("institution", "999999")],
)
def test_an_invalid_department_filter_is_a_400_naming_the_field(api, clinic_doctor, field, value):
    response = api.as_user(clinic_doctor).get("/api/v1/departments/", {field: value})

    body = assert_json_error(response, 400)
    assert field in body["errors"]


def test_department_detail_is_a_contact_card(api, clinic_doctor, world):
    department = world["cardiology"]

    response = api.as_user(clinic_doctor).get(f"/api/v1/departments/{department.pk}/")

    assert response.status_code == 200
    item = response.json()
    assert item == {
        "id": department.pk,
        "institution": world["hospital"].pk,
        "institution_name": "临港院区",
        "name": "心内科（胸痛中心）",
        "specialty": "cardiology",
        "specialty_display": item["specialty_display"],
        "phone": "021-38297001",
        "on_duty_phone": "13901700001",
        "accepts_referrals": True,
        "head": "",
        "is_active": True,
    }
    assert item["specialty_display"]


@pytest.fixture
def departments(world):
    general = DepartmentFactory(
        institution=world["center"],
        name="全科",
        specialty=Specialty.GENERAL_PRACTICE,
        accepts_referrals=False,
    )
    lab = DepartmentFactory(
        institution=world["other_center"], name="检验科", specialty=Specialty.LABORATORY
    )
    return {"cardiology": world["cardiology"], "general": general, "lab": lab}


def test_department_list_is_paginated_and_filtered(api, clinic_doctor, world, departments):
    api.as_user(clinic_doctor)

    everything = api.get("/api/v1/departments/").json()
    by_institution = api.get("/api/v1/departments/", {"institution": world["center"].pk})
    by_specialty = api.get("/api/v1/departments/", {"specialty": "laboratory"})
    accepting = api.get("/api/v1/departments/", {"accepts_referrals": "false"})

    assert set(everything) == {"count", "next", "previous", "results"}
    assert everything["count"] == 3
    assert names(by_institution) == {"全科"}
    assert names(by_specialty) == {"检验科"}
    assert names(accepting) == {"全科"}


def test_department_search_matches_department_and_institution_names(
    api, clinic_doctor, departments
):
    api.as_user(clinic_doctor)

    assert names(api.get("/api/v1/departments/", {"q": "检验"})) == {"检验科"}
    assert names(api.get("/api/v1/departments/", {"q": "临港"})) == {"心内科（胸痛中心）"}


# --- Alliances --------------------------------------------------------------------------------


def test_unknown_alliance_is_a_404_json(api, clinic_doctor):
    assert_json_error(api.as_user(clinic_doctor).get("/api/v1/alliances/999999/"), 404)


@pytest.mark.parametrize(
    ("field", "value"),
    [("mode", "bogus"), ("closeness", "bogus"), ("lead_institution", "abc")],
)
def test_an_invalid_alliance_filter_is_a_400_naming_the_field(api, clinic_doctor, field, value):
    response = api.as_user(clinic_doctor).get("/api/v1/alliances/", {field: value})

    body = assert_json_error(response, 400)
    assert field in body["errors"]


def test_alliance_detail_lists_members_and_specialty_networks(api, clinic_doctor, world):
    alliance = world["alliance"]
    network = SpecialtyNetwork.objects.create(
        alliance=alliance,
        name="胸痛专科联盟",
        specialty=Specialty.CARDIOLOGY,
        lead_department=world["cardiology"],
    )
    network.departments.add(world["cardiology"])

    response = api.as_user(clinic_doctor).get(f"/api/v1/alliances/{alliance.pk}/")

    assert response.status_code == 200
    item = response.json()
    assert {
        "id",
        "name",
        "mode",
        "closeness",
        "lead_institution",
        "established_on",
        "description",
        "members",
        "specialty_networks",
    } <= set(item)
    assert item["name"] == "临港医联体"
    assert item["lead_institution"] == world["hospital"].pk
    assert {m["institution"] for m in item["members"]} == {
        world["hospital"].pk,
        world["center"].pk,
        world["other_center"].pk,
    }
    assert item["members"][0]["joined_on"] == "2020-01-01"
    assert item["specialty_networks"] == [
        {
            "id": network.pk,
            "name": "胸痛专科联盟",
            "specialty": "cardiology",
            "lead_department": world["cardiology"].pk,
            "departments": [world["cardiology"].pk],
        }
    ]


def test_alliance_list_filters_by_mode_and_lead_institution(api, clinic_doctor, world):
    AllianceFactory(name="嵊泗远程医疗网", mode="telemedicine", closeness="loose")
    api.as_user(clinic_doctor)

    assert names(api.get("/api/v1/alliances/")) == {"临港医联体", "嵊泗远程医疗网"}
    assert names(api.get("/api/v1/alliances/", {"mode": "telemedicine"})) == {"嵊泗远程医疗网"}
    assert names(api.get("/api/v1/alliances/", {"closeness": "tight"})) == {"临港医联体"}
    lead = api.get("/api/v1/alliances/", {"lead_institution": world["hospital"].pk})
    assert names(lead) == {"临港医联体"}


# --- Patients: who sees whom ------------------------------------------------------------------

WORLD_PATIENTS = {
    "patient": "张伟",
    "station_patient": "李芳",
    "other_patient": "王强",
    "foreign_patient": "赵敏",
}
VISIBLE = {
    "clinic_doctor": {"patient", "station_patient"},
    "outsider_clinic_user": {"other_patient"},
    "hospital_triage": set(),
    "center_staff": set(),
    "alliance_office": {"patient", "station_patient", "other_patient"},
    "bureau_viewer": None,  # no patient-level access at all: 403
    "no_profile_user": None,
    "superuser": set(WORLD_PATIENTS),
}
assert set(VISIBLE) == set(PERSONAS)


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_patient_list_shows_each_persona_only_its_own_residents(api, persona, request):
    visible = VISIBLE[request.node.callspec.params["persona"]]

    response = api.as_user(persona).get("/api/v1/patients/")

    if visible is None:
        assert_json_error(response, 403)
    else:
        assert names(response) == {WORLD_PATIENTS[key] for key in visible}
        assert response.json()["count"] == len(visible)


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_patient_detail_is_a_404_for_every_resident_outside_the_personas_scope(
    api, persona, world, request
):
    visible = VISIBLE[request.node.callspec.params["persona"]]
    api.as_user(persona)

    for key, name in WORLD_PATIENTS.items():
        response = api.get(f"/api/v1/patients/{world[key].pk}/")
        if visible is None:
            assert_json_error(response, 403)
        elif key in visible:
            assert response.status_code == 200, key
            assert response.json()["name"] == name
        else:
            body = assert_json_error(response, 404)
            assert name not in json.dumps(body, ensure_ascii=False)


def test_outsider_gets_404_for_another_institutions_patient(api, outsider_clinic_user, world):
    response = api.as_user(outsider_clinic_user).get(f"/api/v1/patients/{world['patient'].pk}/")

    assert_json_error(response, 404)
    assert not AccessLog.objects.patient_accesses().exists()


def test_outsider_cannot_find_a_foreign_patient_by_the_full_identity_number(
    api, outsider_clinic_user, world
):
    number = world["patient"].id_number

    response = api.as_user(outsider_clinic_user).post(
        "/api/v1/patients/lookup/", {"id_number": number}, format="json"
    )

    # The 409 registering the number would answer (issue 13, item 9), and nothing of the record.
    body = assert_json_error(response, 409)
    assert world["patient"].name not in json.dumps(body, ensure_ascii=False)
    assert not AccessLog.objects.patient_accesses().exists()


def test_outsider_cannot_see_residents_by_filtering_on_a_foreign_home_institution(
    api, outsider_clinic_user, world
):
    response = api.as_user(outsider_clinic_user).get(
        "/api/v1/patients/", {"home_institution": world["center"].pk}
    )

    assert names(response) == set()


def test_patient_from_a_centre_that_left_the_alliance_is_hidden_from_the_office(
    api, alliance_office, world
):
    membership = world["other_center"].memberships.get()
    membership.left_on = datetime.date(2021, 1, 1)
    membership.save()

    api.as_user(alliance_office)

    assert names(api.get("/api/v1/patients/")) == {"张伟", "李芳"}
    assert_json_error(api.get(f"/api/v1/patients/{world['other_patient'].pk}/"), 404)


def test_unknown_and_non_numeric_patient_ids_are_404_json(api, clinic_doctor):
    api.as_user(clinic_doctor)

    assert_json_error(api.get("/api/v1/patients/999999/"), 404)
    assert_json_error(api.get("/api/v1/patients/abc/"), 404)


@pytest.mark.parametrize(("field", "value"), [("home_institution", "abc"), ("gender", "x")])
def test_an_invalid_patient_filter_is_a_400_naming_the_field(api, clinic_doctor, field, value):
    response = api.as_user(clinic_doctor).get("/api/v1/patients/", {field: value})

    body = assert_json_error(response, 400)
    assert field in body["errors"]


def test_patient_filters_by_name_and_full_identity_number(api, clinic_doctor, world):
    api.as_user(clinic_doctor)
    number = world["station_patient"].id_number

    assert names(api.get("/api/v1/patients/", {"q": "张"})) == {"张伟"}
    found = api.post("/api/v1/patients/lookup/", {"id_number": number.lower()}, format="json")
    assert found.status_code == 200 and found.json()["name"] == "李芳"
    assert MASKED_ID.match(found.json()["id_number"])
    assert (
        AccessLog.objects.patient_accesses()
        .filter(patient=world["station_patient"], kind="patient_view")
        .exists()
    )
    partial = api.post("/api/v1/patients/lookup/", {"id_number": number[:10]}, format="json")
    assert "id_number" in assert_json_error(partial, 400)["errors"]
    # The identity number is not a query parameter: it would be written to access logs.
    assert names(api.get("/api/v1/patients/", {"id_number": number[:10]})) == {"张伟", "李芳"}


def test_patient_list_cannot_be_ordered_by_identity_number(api, superuser, world):
    api.as_user(superuser)

    by_id_number = api.get("/api/v1/patients/", {"ordering": "-id_number"})
    by_name = api.get("/api/v1/patients/", {"ordering": "name"})

    # An unlisted ordering is ignored, so the list stays in its default (name) order.
    name_order = [r["id"] for r in by_name.json()["results"]]
    # The numbers are encrypted in the database, so their order is computed here.
    by_number = sorted(Patient.objects.all(), key=lambda p: p.id_number, reverse=True)
    number_order = [p.pk for p in by_number]
    assert number_order != name_order  # otherwise this test could not tell them apart
    assert by_id_number.status_code == 200
    assert [r["id"] for r in by_id_number.json()["results"]] == name_order


# --- Patients: masking ------------------------------------------------------------------------


def test_identity_number_and_phone_are_masked_in_the_list(api, superuser, world):
    response = api.as_user(superuser).get("/api/v1/patients/")

    content = response.content.decode()
    for row in response.json()["results"]:
        assert MASKED_ID.match(row["id_number"]), row["id_number"]
        assert MASKED_MOBILE.match(row["phone"]), row["phone"]
    for key in WORLD_PATIENTS:
        assert world[key].id_number not in content
        assert world[key].phone not in content


def test_identity_number_and_phone_are_masked_in_the_detail(api, clinic_doctor, world):
    patient = world["patient"]

    response = api.as_user(clinic_doctor).get(f"/api/v1/patients/{patient.pk}/")

    body = response.json()
    assert MASKED_ID.match(body["id_number"])
    assert body["id_number"][:6] == patient.id_number[:6]
    assert body["id_number"][-4:] == patient.id_number[-4:]
    assert MASKED_MOBILE.match(body["phone"])
    assert patient.id_number not in response.content.decode()
    assert patient.phone not in response.content.decode()


# --- Patients: registering --------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["center_staff", "bureau_viewer", "no_profile_user"])
def test_a_role_that_may_not_register_gets_403_and_nothing_is_written(api, persona, request):
    user = request.getfixturevalue(persona)
    world = request.getfixturevalue("world")
    before = Patient.objects.count()

    response = api.as_user(user).post(
        "/api/v1/patients/", patient_payload(world["hospital"]), format="json"
    )

    assert_json_error(response, 403)
    assert Patient.objects.count() == before
    assert not AccessLog.objects.patient_accesses().exists()


@pytest.mark.parametrize("where", ["hospital", "other_center", "foreign_center", "bureau"])
def test_registering_at_another_institution_is_a_400_naming_home_institution(
    api, clinic_doctor, world, where
):
    before = Patient.objects.count()

    response = api.as_user(clinic_doctor).post(
        "/api/v1/patients/", patient_payload(world[where]), format="json"
    )

    body = assert_json_error(response, 400)
    assert "home_institution" in body["errors"]
    assert Patient.objects.count() == before
    assert not AccessLog.objects.patient_accesses().exists()


def test_registering_with_a_wrong_check_digit_is_a_400_naming_id_number(api, clinic_doctor, world):
    payload = patient_payload(world["center"])
    payload["id_number"] = wrong_check_digit(payload["id_number"])
    before = Patient.objects.count()

    response = api.as_user(clinic_doctor).post("/api/v1/patients/", payload, format="json")

    body = assert_json_error(response, 400)
    assert "id_number" in body["errors"]
    assert "id_number" in body["detail"]
    assert Patient.objects.count() == before
    assert not AccessLog.objects.patient_accesses().exists()


@pytest.mark.parametrize("number", ["", "31011519850302", "3101151985030200A1", "not a number"])
def test_registering_with_a_malformed_identity_number_is_a_400(api, clinic_doctor, world, number):
    payload = patient_payload(world["center"], id_number=number)

    response = api.as_user(clinic_doctor).post("/api/v1/patients/", payload, format="json")

    body = assert_json_error(response, 400)
    assert "id_number" in body["errors"]
    assert not Patient.objects.filter(name="陈静").exists()


def test_registering_with_a_future_birth_date_in_the_identity_number_is_a_400(
    api, clinic_doctor, world
):
    future = timezone.localdate() + datetime.timedelta(days=400)
    payload = patient_payload(
        world["center"],
        id_number=valid_id_number(3, birth=future, male=False),
        birth_date=future.isoformat(),
    )

    response = api.as_user(clinic_doctor).post("/api/v1/patients/", payload, format="json")

    body = assert_json_error(response, 400)
    assert "id_number" in body["errors"]


def test_sex_and_birth_date_come_from_the_number_whatever_the_client_sends(
    api, clinic_doctor, world
):
    payload = patient_payload(world["center"], birth_date="1985-03-03", gender="male")

    response = api.as_user(clinic_doctor).post("/api/v1/patients/", payload, format="json")

    assert response.status_code == 201, response.content
    patient = Patient.objects.get(name="陈静")
    expected = birth_date_from_id_number(payload["id_number"])
    assert patient.birth_date == expected and response.json()["birth_date"] == str(expected)
    assert patient.gender == gender_from_id_number(payload["id_number"]) == "female"


def test_registering_without_sex_and_birth_date_fills_them_in_from_the_number(
    api, clinic_doctor, world
):
    payload = patient_payload(world["center"])
    del payload["birth_date"], payload["gender"]

    response = api.as_user(clinic_doctor).post("/api/v1/patients/", payload, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["gender"] == gender_from_id_number(payload["id_number"])
    assert response.json()["birth_date"] == str(birth_date_from_id_number(payload["id_number"]))


def test_registering_a_duplicate_identity_number_is_a_409_that_does_not_say_where(
    api, clinic_doctor, world
):
    existing = world["patient"]
    payload = patient_payload(
        world["center"],
        id_number=existing.id_number,
        gender=existing.gender,
        birth_date=existing.birth_date.isoformat(),
    )

    response = api.as_user(clinic_doctor).post("/api/v1/patients/", payload, format="json")

    body = assert_json_error(response, 409)
    assert world["center"].name not in body["detail"]
    assert Patient.objects.with_id_number(existing.id_number).count() == 1


def test_a_duplicate_written_with_a_lower_case_x_and_spaces_is_still_a_409(
    api, clinic_doctor, world
):
    number = next(
        candidate
        for n in range(499)
        if (candidate := valid_id_number(n, birth=BIRTH, male=False)).endswith("X")
    )
    PatientFactory(
        home_institution=world["center"], id_number=number, gender="female", birth_date=BIRTH
    )
    written = f"{number[:6]} {number[6:14]} {number[14:].lower()}"

    response = api.as_user(clinic_doctor).post(
        "/api/v1/patients/", patient_payload(world["center"], id_number=written), format="json"
    )

    assert_json_error(response, 409)
    assert Patient.objects.with_id_number(number).count() == 1


def test_a_signed_resident_without_a_signing_institution_is_a_400(api, clinic_doctor, world):
    payload = patient_payload(world["center"], signed=True)

    response = api.as_user(clinic_doctor).post("/api/v1/patients/", payload, format="json")

    body = assert_json_error(response, 400)
    assert "signing_institution" in body["errors"]
    assert not Patient.objects.filter(name="陈静").exists()
    assert not AccessLog.objects.patient_accesses().exists()


def test_a_malformed_json_body_is_a_400_json(api, clinic_doctor, world):
    api.as_user(clinic_doctor)

    create = api.post("/api/v1/patients/", data='{"name": "陈静",', content_type="application/json")
    update = api.patch(
        f"/api/v1/patients/{world['patient'].pk}/",
        data="{not json",
        content_type="application/json",
    )

    assert_json_error(create, 400)
    assert_json_error(update, 400)
    assert not AccessLog.objects.patient_accesses().exists()


def test_a_json_body_that_is_not_an_object_is_a_400(api, clinic_doctor, world):
    response = api.as_user(clinic_doctor).post(
        "/api/v1/patients/", data="[1, 2]", content_type="application/json"
    )

    assert_json_error(response, 400)


def test_clinic_doctor_registers_a_resident_of_their_own_centre(api, clinic_doctor, world):
    payload = patient_payload(world["center"], id_number=valid_id_number(7, BIRTH, male=False))

    response = api.as_user(clinic_doctor).post("/api/v1/patients/", payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    patient = Patient.objects.get(pk=body["id"])
    assert patient.id_number == payload["id_number"]
    assert patient.home_institution == world["center"]
    assert MASKED_ID.match(body["id_number"])
    assert MASKED_MOBILE.match(body["phone"])
    access = AccessLog.objects.patient_accesses().get(patient=patient)
    assert access.user == clinic_doctor
    assert access.kind == AccessKind.PATIENT_CREATE
    assert access.detail["channel"] == "api"


def test_clinic_doctor_registers_a_resident_of_their_station(api, clinic_doctor, world):
    payload = patient_payload(world["station"])

    response = api.as_user(clinic_doctor).post("/api/v1/patients/", payload, format="json")

    assert response.status_code == 201, response.content
    assert Patient.objects.get(pk=response.json()["id"]).home_institution == world["station"]


def test_the_identity_number_is_stored_normalised(api, clinic_doctor, world):
    number = valid_id_number(9, birth=BIRTH, male=False)
    written = f" {number[:6]} {number[6:14]} {number[14:].lower()} "

    response = api.as_user(clinic_doctor).post(
        "/api/v1/patients/", patient_payload(world["center"], id_number=written), format="json"
    )

    assert response.status_code == 201, response.content
    assert Patient.objects.get(pk=response.json()["id"]).id_number == number


def test_alliance_office_registers_at_any_member_but_not_outside_the_alliance(
    api, alliance_office, world
):
    api.as_user(alliance_office)

    inside = api.post(
        "/api/v1/patients/", patient_payload(world["other_center"], 11), format="json"
    )
    outside = api.post(
        "/api/v1/patients/", patient_payload(world["foreign_center"], 12), format="json"
    )

    assert inside.status_code == 201, inside.content
    body = assert_json_error(outside, 400)
    assert "home_institution" in body["errors"]


# --- Patients: viewing and changing -----------------------------------------------------------


def test_retrieving_a_patient_writes_a_view_row(api, clinic_doctor, world):
    patient = world["patient"]

    api.as_user(clinic_doctor).get(f"/api/v1/patients/{patient.pk}/")

    access = AccessLog.objects.patient_accesses().get()
    assert access.patient == patient
    assert access.user == clinic_doctor
    assert access.kind == AccessKind.PATIENT_VIEW
    assert access.detail["channel"] == "api"


def test_a_refused_retrieval_writes_no_view_row(api, bureau_viewer, outsider_clinic_user, world):
    url = f"/api/v1/patients/{world['patient'].pk}/"

    api.as_user(bureau_viewer).get(url)
    api.as_user(outsider_clinic_user).get(url)

    assert not AccessLog.objects.patient_accesses().exists()


def test_patching_an_invisible_patient_is_a_404_and_changes_nothing(
    api, outsider_clinic_user, world
):
    patient = world["patient"]

    response = api.as_user(outsider_clinic_user).patch(
        f"/api/v1/patients/{patient.pk}/", {"address": "改了"}, format="json"
    )

    assert_json_error(response, 404)
    patient.refresh_from_db()
    assert patient.address == ""
    assert not AccessLog.objects.patient_accesses().exists()


@pytest.mark.parametrize("persona", ["center_staff", "bureau_viewer", "no_profile_user"])
def test_patching_by_a_role_that_may_not_change_patients_is_refused(api, world, persona, request):
    user = request.getfixturevalue(persona)
    patient = world["patient"]

    response = api.as_user(user).patch(
        f"/api/v1/patients/{patient.pk}/", {"address": "改了"}, format="json"
    )

    # The action itself is refused, whichever row is named, so nothing is disclosed.
    assert_json_error(response, 403)
    patient.refresh_from_db()
    assert patient.address == ""


def test_patching_an_invalid_identity_number_is_a_400_and_changes_nothing(
    api, clinic_doctor, world
):
    patient = world["patient"]
    original = patient.id_number

    response = api.as_user(clinic_doctor).patch(
        f"/api/v1/patients/{patient.pk}/",
        {"id_number": wrong_check_digit(original)},
        format="json",
    )

    body = assert_json_error(response, 400)
    assert "id_number" in body["errors"]
    patient.refresh_from_db()
    assert patient.id_number == original
    assert not AccessLog.objects.patient_accesses().exists()


def test_patching_the_birth_date_of_a_card_holder_keeps_the_date_in_the_number(
    api, clinic_doctor, world
):
    patient = world["patient"]
    original = patient.birth_date

    response = api.as_user(clinic_doctor).patch(
        f"/api/v1/patients/{patient.pk}/", {"birth_date": "1970-01-01"}, format="json"
    )

    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert patient.birth_date == original == birth_date_from_id_number(patient.id_number)
    assert response.json()["birth_date"] == str(original)


def test_moving_a_patient_to_another_institution_is_a_400_naming_home_institution(
    api, clinic_doctor, world
):
    patient = world["patient"]

    response = api.as_user(clinic_doctor).patch(
        f"/api/v1/patients/{patient.pk}/",
        {"home_institution": world["other_center"].pk},
        format="json",
    )

    body = assert_json_error(response, 400)
    assert "home_institution" in body["errors"]
    patient.refresh_from_db()
    assert patient.home_institution == world["center"]
    assert not AccessLog.objects.patient_accesses().exists()


def test_patching_a_duplicate_identity_number_is_a_409(api, clinic_doctor, world):
    patient, other = world["patient"], world["station_patient"]

    response = api.as_user(clinic_doctor).patch(
        f"/api/v1/patients/{patient.pk}/", {"id_number": other.id_number}, format="json"
    )

    assert_json_error(response, 409)
    patient.refresh_from_db()
    assert patient.id_number != other.id_number


def test_clinic_doctor_patches_a_patient_and_the_changed_fields_are_logged(
    api, clinic_doctor, world
):
    patient = world["patient"]

    response = api.as_user(clinic_doctor).patch(
        f"/api/v1/patients/{patient.pk}/",
        {"phone": "13800001111", "address": "泥城镇新城路1号", "name": "张伟"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert MASKED_MOBILE.match(response.json()["phone"])
    patient.refresh_from_db()
    assert patient.phone == "13800001111"
    assert patient.address == "泥城镇新城路1号"
    access = AccessLog.objects.patient_accesses().get()
    assert access.kind == AccessKind.PATIENT_UPDATE
    assert access.user == clinic_doctor
    # The unchanged name is not reported as a change.
    assert sorted(access.detail["fields"]) == ["address", "phone"]


def test_clinic_doctor_moves_a_patient_to_their_own_station(api, clinic_doctor, world):
    patient = world["patient"]

    response = api.as_user(clinic_doctor).patch(
        f"/api/v1/patients/{patient.pk}/", {"home_institution": world["station"].pk}, format="json"
    )

    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert patient.home_institution == world["station"]
    assert AccessLog.objects.patient_accesses().get().detail["fields"] == ["home_institution"]


def test_patients_cannot_be_deleted(api, superuser, world):
    response = api.as_user(superuser).delete(f"/api/v1/patients/{world['patient'].pk}/")

    assert_json_error(response, 405)
    assert Patient.objects.filter(pk=world["patient"].pk).exists()


# --- Query counts: lists do not grow with rows ------------------------------------------------


def more_institutions(world, n: int = 30) -> None:
    for i in range(n):
        centre = InstitutionFactory(district=world["fengxian"] if i % 2 else world["pudong"])
        StationFactory(parent=centre, district=centre.district)
        DepartmentFactory(institution=centre, name=f"全科{i}")
        DepartmentFactory(institution=centre, name=f"心内科{i}")
        MembershipFactory(alliance=world["alliance"], institution=centre)
        PatientFactory(home_institution=centre)


def count_queries(django_assert_max_num_queries, api, url: str, limit: int, **params) -> int:
    with django_assert_max_num_queries(limit) as captured:
        response = api.get(url, params)
    assert response.status_code == 200, response.content
    return len(captured)


@pytest.mark.parametrize(
    ("url", "persona_name", "limit"),
    [
        ("/api/v1/institutions/", "clinic_doctor", 4),
        ("/api/v1/departments/", "clinic_doctor", 4),
        ("/api/v1/alliances/", "clinic_doctor", 6),
        # the patients: + the access-log row naming the page's records
        ("/api/v1/patients/", "alliance_office", 5),
        ("/api/v1/patients/", "superuser", 4),
    ],
)
def test_api_list_query_count_does_not_grow_with_rows(
    api, world, django_assert_max_num_queries, request, url, persona_name, limit
):
    user = request.getfixturevalue(persona_name)
    api.as_user(user)
    few = count_queries(django_assert_max_num_queries, api, url, limit, page_size=200)

    more_institutions(world)
    more = count_queries(django_assert_max_num_queries, api, url, limit, page_size=200)

    assert more == few


def test_institution_search_query_count_does_not_grow_with_rows(
    api, clinic_doctor, world, django_assert_max_num_queries
):
    api.as_user(clinic_doctor)
    params = {"q": "心内", "district": world["pudong"].pk, "page_size": 200}
    few = count_queries(django_assert_max_num_queries, api, "/api/v1/institutions/", 5, **params)

    more_institutions(world)
    more = count_queries(django_assert_max_num_queries, api, "/api/v1/institutions/", 5, **params)

    assert more == few


def test_kind_other_stays_without_a_tier_when_filtering_primary(api, clinic_doctor, world):
    InstitutionFactory(name="区疾控中心", kind=InstitutionKind.OTHER, district=world["pudong"])

    response = api.as_user(clinic_doctor).get("/api/v1/institutions/", {"tier": "primary"})

    assert "区疾控中心" not in names(response)


def test_a_missing_record_says_not_found_without_naming_the_model(api, clinic_doctor, world):
    response = api.as_user(clinic_doctor).get(
        f"/api/v1/patients/{world['foreign_patient'].pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "未找到。", "code": "not_found"}


def test_field_errors_name_the_field_in_the_message_and_at_the_top_level(api, clinic_doctor, world):
    response = api.as_user(clinic_doctor).post(
        "/api/v1/patients/",
        {
            "name": "新居民",
            "gender": "male",
            "birth_date": "1995-05-17",
            "id_number": "310115199505170000",
            "home_institution": world["center"].pk,
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    body = response.json()
    assert response.status_code == 400
    assert body["detail"].startswith("id_number: ")
    assert body["id_number"] == body["errors"]["id_number"]
    assert "身份证" in body["id_number"][0] or "校验" in body["id_number"][0]


@pytest.mark.parametrize("persona", ["bureau_viewer", "no_profile_user"], indirect=True)
def test_roles_without_patient_access_cannot_look_up_an_identity_number(api, persona, world):
    response = api.as_user(persona).post(
        "/api/v1/patients/lookup/", {"id_number": world["patient"].id_number}, format="json"
    )
    assert_json_error(response, 403)
    assert not AccessLog.objects.patient_accesses().exists()


def test_a_token_request_with_an_overlong_username_is_a_400_naming_it(api, world):
    response = api.post(
        "/api/v1/auth/token/", {"username": "x" * 300, "password": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "username" in response.json()["errors"]
