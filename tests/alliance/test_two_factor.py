"""Two-factor sign-in (TOTP): mandatory for hospital, center and office staff, the security
auditor and superusers, optional for community staff; enrolment asks for the current password;
a wrong code is audited and five of them end the session. Codes are computed from the device's
key the way an authenticator app does (RFC 6238), not mocked."""

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from alliance.models import AccessLog
from core.choices import AccessKind

PASSWORD = "pw-for-tests"  # UserFactory's
SETUP, VERIFY = "/accounts/2fa/", "/accounts/2fa/verify/"


@pytest.fixture(autouse=True)
def enforced(settings):
    settings.TWO_FACTOR_ENFORCED = True


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    return client


def code_for(device: TOTPDevice, drift: int = 0) -> str:
    """What the authenticator app shows now (drift=1: in the next 30-second step)."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{value:06d}"


def enrol(client, user) -> TOTPDevice:
    assert client.get(SETUP).status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(SETUP, {"password": PASSWORD, "code": code_for(device), "next": "/"})
    assert response.status_code == 302, response.content.decode()[:500]
    device.refresh_from_db()
    assert device.confirmed
    return device


# --- who must ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona", ["hospital_triage", "center_staff", "alliance_office", "superuser"]
)
def test_privileged_accounts_are_held_at_enrolment_until_they_set_it_up(persona, request):
    client = signed_in(request.getfixturevalue(persona))
    response = client.get("/referrals/?status=submitted")
    assert response.status_code == 302
    assert response.url == f"{SETUP}?next=/referrals/%3Fstatus%3Dsubmitted"
    page = client.get(response.url).content.decode()
    assert "两步验证" in page and "data:image/svg+xml;base64," in page


def test_the_session_api_answers_403_json_until_verified(hospital_triage):
    client = signed_in(hospital_triage)
    response = client.get("/api/v1/referrals/")
    assert response.status_code == 403
    assert "两步验证" in response.json()["detail"]


def test_a_token_client_is_not_held(hospital_triage, api):
    assert api.as_user(hospital_triage).get("/api/v1/referrals/").status_code == 200


def test_community_staff_go_without_unless_they_turn_it_on(clinic_doctor):
    client = signed_in(clinic_doctor)
    assert client.get("/referrals/").status_code == 200
    enrol(client, clinic_doctor)
    client.post("/accounts/logout/")
    again = signed_in(clinic_doctor)
    assert again.get("/referrals/").url.startswith(VERIFY)  # once on, always asked


def test_the_setting_makes_it_mandatory_for_community_staff(clinic_doctor, settings):
    settings.TWO_FACTOR_COMMUNITY_REQUIRED = True
    assert signed_in(clinic_doctor).get("/referrals/").url.startswith(SETUP)


# --- enrolment ---------------------------------------------------------------------------------


def test_enrolment_needs_the_current_password_and_a_right_code(hospital_triage):
    client = signed_in(hospital_triage)
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=hospital_triage)
    wrong_password = client.post(SETUP, {"password": "not-it-at-all", "code": code_for(device)})
    wrong_code = client.post(SETUP, {"password": PASSWORD, "code": "000000"})
    not_digits = client.post(SETUP, {"password": PASSWORD, "code": "12ab56"})
    assert "密码不正确" in wrong_password.content.decode()
    assert "验证码不正确或已过期" in wrong_code.content.decode()
    assert "验证码为六位数字" in not_digits.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    # The same key on every visit until it is confirmed: a rescan is never needed.
    client.get(SETUP)
    assert TOTPDevice.objects.filter(user=hospital_triage).count() == 1


def test_enrolling_verifies_the_session_and_is_audited(hospital_triage):
    client = signed_in(hospital_triage)
    enrol(client, hospital_triage)
    assert client.get("/referrals/").status_code == 200
    assert AccessLog.objects.filter(user=hospital_triage, kind=AccessKind.TWO_FACTOR_ON).exists()


# --- signing in with the code ------------------------------------------------------------------


@pytest.fixture
def enrolled(hospital_triage):
    enrol(signed_in(hospital_triage), hospital_triage)
    return TOTPDevice.objects.get(user=hospital_triage)


def test_the_next_sign_in_asks_for_the_code_and_goes_on_where_it_was_going(
    hospital_triage, enrolled
):
    client = signed_in(hospital_triage)
    held = client.get("/referrals/incoming/")
    assert held.url == f"{VERIFY}?next=/referrals/incoming/"
    # The next time step's code (the device allows one step of drift): enrolment used this
    # step's, and a code is good only once.
    done = client.post(
        VERIFY, {"code": code_for(enrolled, drift=1), "next": "/referrals/incoming/"}
    )
    assert done.status_code == 302 and done.url == "/referrals/incoming/"
    assert client.get("/referrals/incoming/").status_code == 200


def test_a_code_is_good_only_once(hospital_triage, enrolled):
    used = code_for(enrolled)  # enrolment used it
    response = signed_in(hospital_triage).post(VERIFY, {"code": used})
    assert response.status_code == 200
    assert "验证码不正确或已过期" in response.content.decode()


def test_an_outside_next_address_is_ignored(hospital_triage, enrolled):
    client = signed_in(hospital_triage)
    response = client.post(
        VERIFY, {"code": code_for(enrolled, drift=1), "next": "https://evil.example/"}
    )
    assert response.url == "/"


def test_five_wrong_codes_end_the_session_and_each_is_audited(hospital_triage, enrolled):
    client = signed_in(hospital_triage)
    for _ in range(4):
        assert client.post(VERIFY, {"code": "000000"}).status_code == 200
    last = client.post(VERIFY, {"code": "000000"})
    assert last.url == "/accounts/login/"
    assert "_auth_user_id" not in client.session
    failures = AccessLog.objects.filter(user=hospital_triage, kind=AccessKind.TWO_FACTOR_FAILED)
    assert [e.detail["failures"] for e in failures.order_by("pk")] == [1, 2, 3, 4, 5]


def test_a_mandatory_account_cannot_turn_it_off(hospital_triage, enrolled):
    client = signed_in(hospital_triage)
    client.post(VERIFY, {"code": code_for(enrolled, drift=1)})
    assert client.post("/accounts/2fa/disable/", {"password": PASSWORD}).status_code == 403
    assert TOTPDevice.objects.filter(user=hospital_triage, confirmed=True).exists()


def test_turning_it_off_asks_for_the_password_and_is_audited(clinic_doctor):
    client = signed_in(clinic_doctor)
    enrol(client, clinic_doctor)
    client.post("/accounts/2fa/disable/", {"password": "wrong-password-1"})
    assert TOTPDevice.objects.filter(user=clinic_doctor).exists()
    client.post("/accounts/2fa/disable/", {"password": PASSWORD})
    assert not TOTPDevice.objects.filter(user=clinic_doctor).exists()
    assert AccessLog.objects.filter(user=clinic_doctor, kind=AccessKind.TWO_FACTOR_OFF).exists()


def test_off_by_default_in_development_and_tests(hospital_triage, settings):
    settings.TWO_FACTOR_ENFORCED = False
    assert signed_in(hospital_triage).get("/referrals/").status_code == 200
