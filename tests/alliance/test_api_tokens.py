"""API tokens are bearer credentials: two factors where the browser asks for them, an expiry,
revocation on logout, on a password change and on deactivation, and only a hash at rest."""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from alliance.models import AccessLog, ApiToken
from core.choices import AccessKind

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "correct horse battery staple 9"


@pytest.fixture
def enforced(settings):
    settings.TWO_FACTOR_ENFORCED = True
    return settings


def with_password(user):
    user.set_password(PASSWORD)
    user.save()
    return user


def enrol(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def code_of(device: TOTPDevice, offset: int = 0) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset)
    return f"{value:06d}"


def sign_in(body: dict):
    return APIClient().post(TOKEN_URL, body, format="json")


def read_patients(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/patients/")


# -- two factors ------------------------------------------------------------------------------


def test_a_hospital_account_without_its_code_gets_no_token(enforced, hospital_triage):
    with_password(hospital_triage)
    enrol(hospital_triage)

    response = sign_in({"username": "hospital_triage", "password": PASSWORD})

    assert response.status_code == 400
    assert response.json()["errors"]["otp"] == ["请输入身份验证器应用当前的六位验证码。"]
    assert not ApiToken.objects.exists()


def test_a_wrong_code_gets_no_token_and_is_logged(enforced, hospital_triage):
    with_password(hospital_triage)
    enrol(hospital_triage)

    response = sign_in({"username": "hospital_triage", "password": PASSWORD, "otp": "000000"})

    assert response.status_code == 401 and response.json()["detail"]
    assert not ApiToken.objects.exists()
    assert AccessLog.objects.filter(
        kind=AccessKind.TWO_FACTOR_FAILED, user=hospital_triage
    ).exists()


def test_an_account_that_must_use_two_factors_but_has_not_enrolled_gets_no_token(
    enforced, alliance_office
):
    with_password(alliance_office)

    response = sign_in({"username": "office_user", "password": PASSWORD, "otp": "123456"})

    assert response.status_code == 403 and "/accounts/2fa/" in response.json()["detail"]
    assert not ApiToken.objects.exists()


def test_the_current_code_gets_a_token_that_reads_the_api(enforced, hospital_triage):
    with_password(hospital_triage)
    device = enrol(hospital_triage)

    response = sign_in(
        {"username": "hospital_triage", "password": PASSWORD, "otp": code_of(device)}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["expiry"]
    assert read_patients(body["token"]).status_code == 200


def test_community_staff_without_a_device_sign_in_with_the_password(enforced, clinic_doctor):
    with_password(clinic_doctor)

    response = sign_in({"username": "clinic_doctor", "password": PASSWORD})

    assert response.status_code == 200 and response.json()["token"]


# -- lifetime and revocation -----------------------------------------------------------------


def test_a_token_expires_after_the_configured_hours(clinic_doctor, settings):
    with_password(clinic_doctor)
    key = sign_in({"username": "clinic_doctor", "password": PASSWORD}).json()["token"]
    token = ApiToken.objects.get()
    lifetime = token.expiry - token.created
    assert abs(lifetime - datetime.timedelta(hours=12)) < datetime.timedelta(seconds=1)

    ApiToken.objects.update(expiry=timezone.now() - datetime.timedelta(seconds=1))

    assert read_patients(key).status_code == 401
    assert not ApiToken.objects.exists()  # an expired token is removed on its next use


def test_only_a_hash_of_the_token_is_stored(clinic_doctor):
    with_password(clinic_doctor)
    key = sign_in({"username": "clinic_doctor", "password": PASSWORD}).json()["token"]

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert key not in stored and key[:8] in stored  # the lookup prefix only


def test_the_owner_revokes_the_token_with_delete(clinic_doctor):
    with_password(clinic_doctor)
    key = sign_in({"username": "clinic_doctor", "password": PASSWORD}).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.delete(TOKEN_URL).status_code == 204
    assert read_patients(key).status_code == 401


def test_delete_without_credentials_is_a_401(db):
    assert APIClient().delete(TOKEN_URL).status_code == 401


def test_signing_out_of_the_browser_ends_the_sign_in_tokens(clinic_doctor):
    with_password(clinic_doctor)
    key = sign_in({"username": "clinic_doctor", "password": PASSWORD}).json()["token"]
    browser = Client()
    browser.force_login(clinic_doctor)

    browser.post("/accounts/logout/")

    assert read_patients(key).status_code == 401


def test_a_password_change_ends_every_token(clinic_doctor):
    with_password(clinic_doctor)
    key = sign_in({"username": "clinic_doctor", "password": PASSWORD}).json()["token"]

    clinic_doctor.set_password("another long passphrase 10")
    clinic_doctor.save()

    assert read_patients(key).status_code == 401
    assert not ApiToken.objects.filter(user=clinic_doctor).exists()


def test_deactivating_the_account_ends_every_token(clinic_doctor):
    with_password(clinic_doctor)
    key = sign_in({"username": "clinic_doctor", "password": PASSWORD}).json()["token"]

    clinic_doctor.is_active = False
    clinic_doctor.save()

    assert read_patients(key).status_code == 401
    assert not ApiToken.objects.filter(user=clinic_doctor).exists()


def test_saving_the_last_sign_in_time_keeps_the_tokens(clinic_doctor):
    with_password(clinic_doctor)
    key = sign_in({"username": "clinic_doctor", "password": PASSWORD}).json()["token"]

    clinic_doctor.last_login = timezone.now()
    clinic_doctor.save(update_fields=["last_login"])
    clinic_doctor.first_name = "新名字"
    clinic_doctor.save()

    assert read_patients(key).status_code == 200


def test_each_use_is_remembered_at_most_once_a_minute(clinic_doctor):
    with_password(clinic_doctor)
    key = sign_in({"username": "clinic_doctor", "password": PASSWORD}).json()["token"]
    issued = ApiToken.objects.get().last_used_at

    read_patients(key)
    assert ApiToken.objects.get().last_used_at == issued  # within the minute: no write
    ApiToken.objects.update(last_used_at=issued - datetime.timedelta(minutes=5))
    read_patients(key)

    assert ApiToken.objects.get().last_used_at > issued


def test_expired_tokens_are_purged_by_the_hourly_task(clinic_doctor):
    from alliance.tasks import purge_expired_api_tokens

    ApiToken.objects.create(user=clinic_doctor)
    old, _key = ApiToken.objects.create(user=clinic_doctor)
    ApiToken.objects.filter(pk=old.pk).update(expiry=timezone.now() - datetime.timedelta(hours=1))

    purge_expired_api_tokens()

    assert not ApiToken.objects.filter(pk=old.pk).exists() and ApiToken.objects.count() == 1


def test_a_password_set_through_the_tracked_account_proxy_ends_every_token(clinic_doctor):
    from alliance.models import Account

    ApiToken.objects.create(user=clinic_doctor)
    account = Account.objects.get(pk=clinic_doctor.pk)

    account.set_password("another long passphrase 11")
    account.save()

    assert not ApiToken.objects.filter(user=clinic_doctor).exists()
