"""No identity number in a log line: every logger at DEBUG while the number is registered,
looked up, refused as a duplicate, mistyped, shown, and its patient referred as an emergency
(the pre-arrival alert is logged by the default alert backend)."""

import logging

import pytest

from tests.kit.factories import valid_id_number
from tests.referrals.conftest import payload

NUMBER = valid_id_number(57)


@pytest.fixture
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def logged_text(caplog) -> str:
    return "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )


def test_the_number_never_reaches_a_log_line(everything_logged, world, api, clinic_doctor):
    doctor = api.as_user(clinic_doctor)
    patient = {
        "name": "日志测试",
        "gender": "male",
        "birth_date": "1995-05-17",
        "id_number": NUMBER,
        "phone": "13800005757",
        "home_institution": world["center"].pk,
    }
    created = doctor.post("/api/v1/patients/", patient, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert doctor.post("/api/v1/patients/", patient, format="json").status_code == 409
    mistyped = {**patient, "id_number": NUMBER[:-1] + ("0" if NUMBER[-1] != "0" else "1")}
    assert doctor.post("/api/v1/patients/", mistyped, format="json").status_code == 400
    lookup = doctor.post("/api/v1/patients/lookup/", {"id_number": NUMBER}, format="json")
    assert lookup.status_code == 200
    reveal = doctor.post(f"/api/v1/patients/{pk}/reveal-id-number/")
    assert reveal.json() == {"id_number": NUMBER}
    referral = doctor.post(
        "/api/v1/referrals/",
        payload(world, patient=pk, urgency="emergency", submit=True),
        format="json",
    )
    assert referral.status_code == 201, referral.content
    # Pages too: the search box and the record with the number shown.
    client = api.as_user(clinic_doctor)
    client.force_login(clinic_doctor)
    assert client.post("/referrals/new/", {"find": NUMBER}).status_code == 200
    assert NUMBER in client.post(f"/alliance/patients/{pk}/").content.decode()

    text = logged_text(everything_logged)
    assert len(everything_logged.records) > 0
    assert NUMBER not in text and NUMBER.lower() not in text
    assert NUMBER[6:14] not in text  # not even the birth-date part
