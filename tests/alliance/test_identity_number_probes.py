"""Look-up and registration by identity number say the same thing, and a burst of either is
refused (issue 13, item 9).

Registering a number already registered at another institution is the documented 409; the
look-up of that number now answers the same 409 with the same words (it used to be a 404, the
two disclosing one fact two ways). Both share one budget a user: past IDENTITY_NUMBER_RATE a
429 in Chinese, logged once."""

import pytest
from django.core.cache import cache
from django.test import Client

from alliance.models import AccessLog, Patient
from core.choices import AccessKind
from tests.kit.factories import valid_id_number

LOOKUP = "/api/v1/patients/lookup/"


@pytest.fixture(autouse=True)
def fresh_budget(world, clinic_doctor, outsider_clinic_user):
    """The throttle counts in the shared cache (Redis): start every test with a full budget."""
    for user in (clinic_doctor, outsider_clinic_user):
        key = f"throttle_identity_number_{user.pk}"
        cache.delete_many([key, f"{key}:logged"])
    yield


def registration(world, id_number: str) -> dict:
    return {
        "name": "重复登记",
        "id_number": id_number,
        "phone": "13800000000",
        "home_institution": world["other_center"].pk,
    }


def test_lookup_and_registration_answer_a_number_registered_elsewhere_alike(
    api, world, outsider_clinic_user
):
    number = world["patient"].id_number  # registered at 泥城, invisible to 四团平安
    client = api.as_user(outsider_clinic_user)

    looked_up = client.post(LOOKUP, {"id_number": number}, format="json")
    registered = client.post("/api/v1/patients/", registration(world, number), format="json")

    assert looked_up.status_code == registered.status_code == 409
    assert looked_up.json() == registered.json()
    assert looked_up.json()["code"] == "id_number_registered"
    body = looked_up.content.decode()
    assert world["patient"].name not in body and world["center"].name not in body
    assert not AccessLog.objects.patient_accesses().exists()  # nothing of the record was shown


def test_a_number_nobody_has_is_a_404_and_one_the_user_sees_is_the_record(
    api, world, clinic_doctor
):
    client = api.as_user(clinic_doctor)
    unknown = client.post(LOOKUP, {"id_number": valid_id_number(480)}, format="json")
    found = client.post(LOOKUP, {"id_number": world["patient"].id_number}, format="json")

    assert unknown.status_code == 404
    assert found.status_code == 200 and found.json()["name"] == world["patient"].name


def test_a_burst_of_lookups_is_refused_in_chinese_and_logged_once(
    api, world, outsider_clinic_user, settings
):
    settings.IDENTITY_NUMBER_RATE = "5/min"
    client = api.as_user(outsider_clinic_user)
    client.credentials(HTTP_ACCEPT_LANGUAGE="zh-hans", **client._credentials)
    answers = [
        client.post(LOOKUP, {"id_number": valid_id_number(480 + n)}, format="json").status_code
        for n in range(8)
    ]

    assert answers == [404] * 5 + [429] * 3
    refused = client.post(LOOKUP, {"id_number": world["patient"].id_number}, format="json")
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert "身份证件号码" in refused.json()["detail"] or "过于频繁" in refused.json()["detail"]
    logged = AccessLog.objects.filter(kind=AccessKind.THROTTLED)
    assert [(e.user, e.path, e.detail["action"]) for e in logged] == [
        (outsider_clinic_user, LOOKUP, "lookup")
    ]


def test_registrations_spend_the_same_budget(api, world, outsider_clinic_user, settings):
    settings.IDENTITY_NUMBER_RATE = "3/min"
    client = api.as_user(outsider_clinic_user)
    for n in range(3):
        client.post(LOOKUP, {"id_number": valid_id_number(480 + n)}, format="json")

    response = client.post(
        "/api/v1/patients/", registration(world, valid_id_number(490)), format="json"
    )

    assert response.status_code == 429
    assert not Patient.objects.filter(name="重复登记").exists()
    assert AccessLog.objects.filter(kind=AccessKind.THROTTLED).count() == 1


def test_the_registration_page_spends_the_same_budget(world, outsider_clinic_user, settings):
    settings.IDENTITY_NUMBER_RATE = "2/min"
    page = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    page.force_login(outsider_clinic_user)
    data = registration(world, world["patient"].id_number) | {"id_type": "resident"}

    answers = [page.post("/alliance/patients/new/", data).status_code for _ in range(3)]

    assert answers == [200, 200, 429]  # the form re-shown with the 409's words, then refused
    assert AccessLog.objects.filter(kind=AccessKind.THROTTLED).count() == 1


def test_other_reads_are_not_throttled(api, world, clinic_doctor, settings):
    settings.IDENTITY_NUMBER_RATE = "1/min"
    client = api.as_user(clinic_doctor)
    answers = [client.get("/api/v1/patients/").status_code for _ in range(3)]
    assert answers == [200, 200, 200]
