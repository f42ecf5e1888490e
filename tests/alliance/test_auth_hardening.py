"""Login throttling, session lifetimes, logout and the password policy (the "Trust" issue).

Lockouts are django-axes' database rows, so they roll back with each test like any other row.
"""

import datetime
import logging

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.middleware_sessions import LAST_SEEN_KEY, LOGIN_TIME_KEY
from tests.kit.factories import UserFactory

PASSWORD = "pw-for-tests"  # UserFactory's
WRONG = "not-the-password"
NURSE_IP, OTHER_IP = "10.20.0.7", "10.99.0.3"
LOCKOUT_TEMPLATE = "registration/locked_out.html"


@pytest.fixture
def nurse(db):
    return UserFactory(username="nurse")


@pytest.fixture
def colleague(db):
    return UserFactory(username="colleague")


def log_in(client, username, password, ip=NURSE_IP):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username, times, ip=NURSE_IP):
    return [log_in(client, username, WRONG, ip).status_code for _ in range(times)]


def templates(response) -> list[str]:
    return [t.name for t in response.templates]


# --- login throttling ---------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_username_from_that_address(nurse, client, caplog):
    with caplog.at_level(logging.WARNING, logger="alliance.auth"):
        statuses = fail(client, "nurse", 5)
    assert statuses == [200, 200, 200, 200, 429]

    response = log_in(client, "nurse", PASSWORD)
    assert response.status_code == 429
    assert LOCKOUT_TEMPLATE in templates(response)
    assert not logged_in(client)
    # Recorded: the attempt counter and one failure-log row per attempt, the last ones locked.
    assert AccessAttempt.objects.get(username="nurse", ip_address=NURSE_IP)
    assert AccessFailureLog.objects.filter(username="nurse", locked_out=True).exists()
    lockout_lines = [r.getMessage() for r in caplog.records if r.name == "alliance.auth"]
    assert lockout_lines and "nurse" in lockout_lines[0] and NURSE_IP in lockout_lines[0]
    assert WRONG not in caplog.text and PASSWORD not in caplog.text


def test_a_locked_user_can_still_log_in_from_another_address(nurse, client):
    fail(client, "nurse", 5)
    assert log_in(client, "nurse", PASSWORD, ip=OTHER_IP).status_code == 302
    assert logged_in(client)


def test_a_colleague_behind_the_same_address_can_still_log_in(nurse, colleague, client):
    fail(client, "nurse", 5)
    assert log_in(client, "colleague", PASSWORD).status_code == 302
    assert logged_in(client)


def test_the_lock_lifts_after_the_cool_off(nurse, client):
    fail(client, "nurse", 5)
    assert log_in(client, "nurse", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - datetime.timedelta(minutes=31))
    assert log_in(client, "nurse", PASSWORD).status_code == 302
    assert logged_in(client)


def test_the_lock_holds_just_before_the_cool_off_ends(nurse, client):
    fail(client, "nurse", 5)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - datetime.timedelta(minutes=29))
    assert log_in(client, "nurse", PASSWORD).status_code == 429


def test_a_successful_login_resets_the_failure_count(nurse, client):
    assert fail(client, "nurse", 4) == [200] * 4
    assert log_in(client, "nurse", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="nurse").exists()
    client.logout()
    assert fail(client, "nurse", 4) == [200] * 4
    assert log_in(client, "nurse", PASSWORD).status_code == 302


def test_the_client_address_is_not_taken_from_a_forwarded_header(nurse, client):
    """Without configuration a client cannot claim a fresh address with X-Forwarded-For."""
    for n in range(5):
        client.post(
            reverse("login"),
            {"username": "nurse", "password": WRONG},
            REMOTE_ADDR=NURSE_IP,
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    assert log_in(client, "nurse", PASSWORD).status_code == 429


def token(api, username, password, ip=NURSE_IP):
    return api.post(
        reverse("api-token"),
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=ip,
    )


def test_the_token_endpoint_is_throttled_the_same_way(nurse, colleague):
    api = APIClient()
    statuses = [token(api, "nurse", WRONG).status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]

    response = token(api, "nurse", PASSWORD)
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"] and response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) == 30 * 60
    assert "token" not in response.json()
    # The pair is locked, not the user nor the address.
    assert "token" in token(api, "nurse", PASSWORD, ip=OTHER_IP).json()
    assert "token" in token(api, "colleague", PASSWORD).json()


def test_a_token_login_resets_the_failure_count(nurse):
    api = APIClient()
    for _ in range(4):
        token(api, "nurse", WRONG)
    assert token(api, "nurse", PASSWORD).status_code == 200
    assert [token(api, "nurse", WRONG).status_code for _ in range(4)] == [400] * 4


# --- sessions -----------------------------------------------------------------------------


@pytest.fixture
def nurse_client(nurse):
    client = Client()
    client.force_login(nurse)
    return client


def stored_session(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_activity_renews_a_browser_session_for_thirty_minutes(nurse_client, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    session = nurse_client.session
    session[LAST_SEEN_KEY] -= 61  # the last renewal was over a minute ago
    session.save()
    Session.objects.update(expire_date=timezone.now() + datetime.timedelta(minutes=1))
    response = nurse_client.get(reverse("notifications"))
    assert response.status_code == 200
    remaining = stored_session(nurse_client).expire_date - timezone.now()
    assert datetime.timedelta(minutes=29) < remaining <= datetime.timedelta(minutes=30)
    assert not response.cookies["sessionid"]["expires"]  # gone when the browser closes


def test_activity_within_a_minute_does_not_write_the_session(nurse_client):
    nurse_client.get(reverse("notifications"))
    expiry = stored_session(nurse_client).expire_date
    response = nurse_client.get(reverse("notifications"))
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert stored_session(nurse_client).expire_date == expiry


def test_an_idle_session_ends(nurse_client):
    assert nurse_client.get(reverse("notifications")).status_code == 200
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    response = nurse_client.get(reverse("notifications"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def age_login(client, seconds: int) -> None:
    session = client.session
    session[LOGIN_TIME_KEY] -= seconds
    session.save()


def test_an_active_session_ends_twelve_hours_after_login(nurse_client):
    old_key = nurse_client.session.session_key
    age_login(nurse_client, 12 * 3600 + 1)
    response = nurse_client.get(reverse("notifications"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not Session.objects.filter(session_key=old_key).exists()
    assert nurse_client.get(reverse("notifications")).status_code == 302


def test_a_session_younger_than_twelve_hours_goes_on(nurse_client):
    age_login(nurse_client, 11 * 3600)
    assert nurse_client.get(reverse("notifications")).status_code == 200


def test_an_expired_session_gets_a_json_401_from_the_api(nurse_client):
    assert nurse_client.get(reverse("api-me")).status_code == 200
    age_login(nurse_client, 12 * 3600 + 1)
    response = nurse_client.get(reverse("api-me"))
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_a_session_without_a_login_time_is_ended(nurse_client):
    session = nurse_client.session
    del session[LOGIN_TIME_KEY]
    session.save()
    assert nurse_client.get(reverse("notifications")).status_code == 302


def test_a_login_through_the_form_records_its_time(nurse, client):
    log_in(client, "nurse", PASSWORD)
    assert abs(client.session[LOGIN_TIME_KEY] - timezone.now().timestamp()) < 60


def test_logout_is_a_post_that_ends_the_server_side_session(nurse_client):
    old_key = nurse_client.session.session_key
    assert nurse_client.get(reverse("logout")).status_code == 405
    assert nurse_client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=old_key).exists()
    # Someone who kept the old cookie gets nothing with it.
    replay = Client()
    replay.cookies["sessionid"] = old_key
    assert replay.get(reverse("notifications")).status_code == 302


# --- password policy ----------------------------------------------------------------------


def test_a_nine_character_password_is_too_short(nurse):
    with pytest.raises(ValidationError) as error:
        validate_password("Kq7-xr2Lm", user=nurse)
    assert "password_too_short" in [e.code for e in error.value.error_list]
    validate_password("Kq7-xr2Lm#", user=nurse)  # ten characters


@pytest.mark.parametrize("password", ["1234567890123", "password12345", "wangxiaoming"])
def test_common_numeric_and_name_like_passwords_are_refused(nurse, password):
    nurse.email = "wang.xiaoming@example.org"
    with pytest.raises(ValidationError):
        validate_password(password, user=nurse)


def change_password(client, old, new):
    return client.post(
        reverse("password_change"),
        {"old_password": old, "new_password1": new, "new_password2": new},
    )


def test_changing_the_password_asks_for_the_current_one(nurse, nurse_client):
    assert nurse_client.get(reverse("password_change")).status_code == 200
    response = change_password(nurse_client, WRONG, "Kq7-xr2Lm#long")
    assert response.status_code == 200
    assert response.context["form"].errors["old_password"]
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)

    response = change_password(nurse_client, PASSWORD, "Kq7-xr2Lm#long")
    assert response.status_code == 302
    assert response.url == reverse("password_change_done")
    nurse.refresh_from_db()
    assert nurse.check_password("Kq7-xr2Lm#long")
    # The session that changed it stays signed in.
    assert nurse_client.get(reverse("password_change_done")).status_code == 200


def test_the_new_password_must_pass_the_policy(nurse, nurse_client):
    response = change_password(nurse_client, PASSWORD, "Kq7-xr2Lm")
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]


def test_the_password_change_page_needs_a_login(client):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# Issue 13, item 10: many usernames from one address.
def test_many_failures_over_many_usernames_from_one_address_refuse_it(nurse, client, settings):
    from alliance.models import AccessLog
    from core.choices import AccessKind

    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    for n in range(8):  # one or two tries per username: axes' per-username lock never trips
        fail(client, f"guess{n}", 1)

    refused = log_in(client, "nurse", PASSWORD)
    elsewhere = log_in(Client(), "nurse", PASSWORD, ip=OTHER_IP)

    assert not logged_in(client) and refused.status_code == 200
    assert elsewhere.status_code == 302  # the address is refused, not the account
    lockouts = AccessLog.objects.filter(kind=AccessKind.LOCKOUT, ip_address=NURSE_IP)
    assert lockouts.count() == 1 and lockouts.get().detail["scope"] == "address"
    token = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "nurse", "password": PASSWORD},
        format="json",
        REMOTE_ADDR=NURSE_IP,
    )
    assert token.status_code == 400 and "token" not in token.json()


def test_the_address_limit_lifts_after_its_window(nurse, client, settings, monkeypatch):
    import types

    from core import backends

    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 4
    for n in range(4):
        fail(client, f"guess{n}", 1)
    assert log_in(client, "nurse", PASSWORD).status_code == 200  # refused
    # The access log is append-only: the clock moves on instead of the rows.
    later = timezone.now() + datetime.timedelta(minutes=settings.LOGIN_ADDRESS_WINDOW_MINUTES + 1)
    monkeypatch.setattr(backends, "timezone", types.SimpleNamespace(now=lambda: later))

    assert log_in(client, "nurse", PASSWORD).status_code == 302


def test_a_refused_address_is_told_so_on_the_page_not_that_the_password_is_wrong(
    nurse, client, settings
):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 4
    before = fail(client, "guess0", 1)
    wrong = log_in(client, "nurse", WRONG)
    assert before == [200]
    assert [e.code for e in wrong.context["form"].non_field_errors().as_data()] == ["invalid_login"]
    for n in range(1, 3):
        fail(client, f"guess{n}", 1)

    refused = log_in(client, "nurse", PASSWORD)  # the right password, from a refused address

    errors = refused.context["form"].non_field_errors().as_data()
    assert [e.code for e in errors] == ["address_refused"]
    assert not logged_in(client)
    page = (
        Client()
        .post(
            reverse("login"),
            {"username": "nurse", "password": PASSWORD},
            REMOTE_ADDR=NURSE_IP,
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
        .content.decode()
    )
    assert "网络地址" in page and "15" in page
