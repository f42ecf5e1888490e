"""Personal access tokens (/accounts/tokens/) and the alliance office's machine tokens and
revocations (/alliance/tokens/): who may create which, what ends them, and the access log of
their creation, revocation and use (issue 13, items 1, 2 and 12)."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from alliance import tokens
from alliance.choices import Role
from alliance.models import AccessLog, ApiToken, ApiTokenKind
from core.choices import AccessKind
from core.errors import ActionNotAllowed
from tests.kit.factories import AllianceFactory, HospitalFactory, MembershipFactory, staff_user

from .test_api_tokens import code_of

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"  # UserFactory's
MINE, OFFICE = "/accounts/tokens/", "/alliance/tokens/"


def browser(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def verified_browser(user) -> Client:
    """Signed in with the password and the authenticator's code (TWO_FACTOR_ENFORCED on)."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    response = client.post("/accounts/2fa/verify/", {"code": code_of(device), "next": "/"})
    assert response.status_code == 302 and response.url == "/", response.content[:300]
    return client


def api_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def patient_names(key: str) -> set[str] | int:
    response = api_with(key).get("/api/v1/patients/")
    if response.status_code != 200:
        return response.status_code
    return {row["name"] for row in response.json()["results"]}


def create_personal(client, name="导出脚本"):
    response = client.post(MINE, {"name": name})
    assert response.status_code == 200, response.content[:300]
    return response.context["new_token"], response.context["new_key"]


def create_machine(client, institution, name="HIS 接口"):
    response = client.post(OFFICE, {"name": name, "institution": institution.pk})
    assert response.status_code == 200, response.content[:300]
    assert response.context["new_key"], response.context["form"].errors
    return response.context["new_token"], response.context["new_key"]


@pytest.fixture
def enforced(settings):
    settings.TWO_FACTOR_ENFORCED = True


@pytest.fixture
def other_office(world):
    """The office of another alliance (a hospital of Fengxian and the centre outside ours)."""
    hospital = HospitalFactory(name="奉贤院区", code="FX-HOSP", district=world["fengxian"])
    alliance = AllianceFactory(name="奉贤医联体", lead_institution=hospital)
    for member in (hospital, world["foreign_center"]):
        MembershipFactory(alliance=alliance, institution=member)
    return staff_user(Role.ALLIANCE_OFFICE, hospital, username="office_fx")


# -- who may create -----------------------------------------------------------------------------


def test_an_unverified_session_cannot_create_a_personal_token(enforced, hospital_triage):
    TOTPDevice.objects.create(user=hospital_triage, name="phone", confirmed=True)
    client = Client()
    client.post("/accounts/login/", {"username": "hospital_triage", "password": PASSWORD})

    response = client.post(MINE, {"name": "脚本"})

    assert response.status_code == 302 and response.url.startswith("/accounts/2fa/verify/")
    assert not ApiToken.objects.exists()
    # The service refuses too, whoever calls it without a verified session.
    with pytest.raises(ActionNotAllowed):
        tokens.personal_token_create(actor=hospital_triage, name="脚本")
    assert not ApiToken.objects.exists()


def test_a_mandatory_account_without_an_authenticator_gets_no_personal_token(
    enforced, alliance_office
):
    client = browser(alliance_office)

    response = client.post(MINE, {"name": "脚本"})

    assert response.status_code == 302 and response.url.startswith("/accounts/2fa/")
    with pytest.raises(ActionNotAllowed):
        tokens.personal_token_create(actor=alliance_office, name="脚本")
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "persona", ["clinic_doctor", "hospital_triage", "center_staff", "bureau_viewer"]
)
def test_only_the_office_reaches_the_machine_token_page(persona, request, world):
    user = request.getfixturevalue(persona)
    client = browser(user)

    assert client.get(OFFICE).status_code == 403
    response = client.post(OFFICE, {"name": "HIS", "institution": world["center"].pk})

    assert response.status_code == 403
    assert not ApiToken.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="svc-").exists()
    with pytest.raises(ActionNotAllowed):
        tokens.machine_token_create(actor=user, institution=world["center"], name="HIS")


def test_the_office_cannot_issue_a_machine_token_for_another_alliances_institution(
    alliance_office, world
):
    client = browser(alliance_office)

    for institution in (world["foreign_center"], world["bureau"]):
        response = client.post(OFFICE, {"name": "HIS", "institution": institution.pk})
        assert response.status_code == 200
        assert "new_key" not in response.context
        assert response.context["form"].errors["institution"] == [
            "选择一个有效的选项： 该选择不在可用的选项中。"
        ]
    assert not ApiToken.objects.exists()


def test_the_forms_name_what_is_missing_in_chinese(alliance_office, clinic_doctor, world):
    response = browser(clinic_doctor).post(MINE, {"name": "  "})
    assert response.context["form"].errors["name"] == ["该字段是必填项。"]
    create_personal(browser(clinic_doctor), "导出脚本")
    again = browser(clinic_doctor).post(MINE, {"name": "导出脚本"})
    assert again.context["form"].errors["name"] == ["您已有一个同名的令牌。"]

    office = browser(alliance_office).post(OFFICE, {"name": "", "institution": ""})
    assert office.context["form"].errors == {
        "name": ["该字段是必填项。"],
        "institution": ["该字段是必填项。"],
    }
    assert ApiToken.objects.count() == 1


def test_a_user_has_at_most_ten_personal_tokens(clinic_doctor):
    client = browser(clinic_doctor)
    for n in range(tokens.PERSONAL_TOKEN_LIMIT):
        create_personal(client, f"脚本{n}")

    response = client.post(MINE, {"name": "再一个"})

    assert response.status_code == 409
    assert "您已有 10 个个人令牌" in response.content.decode()
    assert ApiToken.objects.count() == tokens.PERSONAL_TOKEN_LIMIT


# -- who may see and revoke ---------------------------------------------------------------------


def test_another_alliances_office_neither_sees_nor_revokes_our_tokens(
    alliance_office, clinic_doctor, other_office, world
):
    machine, machine_key = create_machine(browser(alliance_office), world["center"], "泥城HIS")
    personal, personal_key = create_personal(browser(clinic_doctor), "泥城导出")
    client = browser(other_office)

    page = client.get(OFFICE).content.decode()
    assert "泥城HIS" not in page and "泥城导出" not in page
    for token in (machine, personal):
        assert client.post(f"{OFFICE}{token.digest}/revoke/").status_code == 404
    # Nor from the own-token page, which is everybody's own only.
    assert client.post(f"{MINE}{personal.digest}/revoke/").status_code == 404
    assert browser(world_user(world)).post(f"{MINE}{machine.digest}/revoke/").status_code == 404

    assert ApiToken.objects.filter(pk__in=[machine.pk, personal.pk]).count() == 2
    assert patient_names(machine_key) == {"张伟", "李芳"}
    assert patient_names(personal_key) == {"张伟", "李芳"}


def world_user(world):
    return staff_user(Role.COMMUNITY_STAFF, world["center"], username="colleague")


def test_a_colleague_cannot_revoke_ones_personal_token(clinic_doctor, world):
    token, key = create_personal(browser(clinic_doctor))

    response = browser(world_user(world)).post(f"{MINE}{token.digest}/revoke/")

    assert response.status_code == 404
    assert patient_names(key) == {"张伟", "李芳"}


# -- what ends a token --------------------------------------------------------------------------


def test_a_revoked_personal_token_gets_401(clinic_doctor):
    client = browser(clinic_doctor)
    token, key = create_personal(client)

    response = client.post(f"{MINE}{token.digest}/revoke/")

    assert response.status_code == 302 and response.url == MINE
    assert patient_names(key) == 401
    entry = AccessLog.objects.get(kind=AccessKind.TOKEN_REVOKED)
    assert entry.user == clinic_doctor and entry.detail["token_kind"] == "personal"


def test_an_expired_personal_token_gets_401(clinic_doctor, settings):
    token, key = create_personal(browser(clinic_doctor), "月度报表")
    lifetime = token.expiry - token.created
    assert abs(lifetime - datetime.timedelta(days=90)) < datetime.timedelta(seconds=5)

    ApiToken.objects.update(expiry=timezone.now() - datetime.timedelta(seconds=1))

    assert patient_names(key) == 401
    assert "月度报表" not in browser(clinic_doctor).get(MINE).content.decode()


def test_logout_keeps_personal_tokens_but_ends_sign_in_ones(clinic_doctor):
    client = browser(clinic_doctor)
    _token, personal_key = create_personal(client)
    sign_in_key = (
        APIClient()
        .post(
            "/api/v1/auth/token/",
            {"username": "clinic_doctor", "password": PASSWORD},
            format="json",
        )
        .json()["token"]
    )

    client.post("/accounts/logout/")

    assert patient_names(sign_in_key) == 401
    assert patient_names(personal_key) == {"张伟", "李芳"}


def test_a_password_change_ends_every_token(clinic_doctor):
    client = browser(clinic_doctor)
    _token, personal_key = create_personal(client)
    sign_in_key = (
        APIClient()
        .post(
            "/api/v1/auth/token/",
            {"username": "clinic_doctor", "password": PASSWORD},
            format="json",
        )
        .json()["token"]
    )

    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a new long passphrase 12",
            "new_password2": "a new long passphrase 12",
        },
    )

    assert response.status_code == 302
    assert patient_names(personal_key) == 401 and patient_names(sign_in_key) == 401
    assert not ApiToken.objects.filter(user=clinic_doctor).exists()


def test_deactivating_a_service_account_ends_its_machine_token(alliance_office, world):
    token, key = create_machine(browser(alliance_office), world["center"])

    account = token.user
    account.is_active = False
    account.save()

    assert patient_names(key) == 401
    assert not ApiToken.objects.exists()


def test_a_machine_tokens_service_account_cannot_sign_in(alliance_office, world):
    token, _key = create_machine(browser(alliance_office), world["center"])
    account = token.user

    assert not account.has_usable_password()
    for password in ("", "pw-for-tests", "!"):
        response = APIClient().post(
            "/api/v1/auth/token/",
            {"username": account.username, "password": password},
            format="json",
        )
        assert response.status_code == 400
    login = Client().post("/accounts/login/", {"username": account.username, "password": "!"})
    assert login.status_code == 200  # the form again: not signed in
    assert ApiToken.objects.count() == 1


# -- the happy paths ----------------------------------------------------------------------------


def test_a_verified_user_creates_a_personal_token_sees_it_once_and_reads_the_api(
    enforced, hospital_triage, world
):
    client = verified_browser(hospital_triage)

    response = client.post(MINE, {"name": "胸痛中心统计脚本"})

    assert response.status_code == 200
    key = response.context["new_key"]
    page = response.content.decode()
    assert key in page and "只显示这一次" in page
    token = ApiToken.objects.get(kind=ApiTokenKind.PERSONAL)
    assert token.user == hospital_triage and token.name == "胸痛中心统计脚本"
    assert key not in str(ApiToken.objects.values_list().get())  # only its hash is kept
    later = client.get(MINE).content.decode()
    assert key not in later and "胸痛中心统计脚本" in later  # listed, never shown again
    assert api_with(key).get("/api/v1/patients/").status_code == 200
    created = AccessLog.objects.get(kind=AccessKind.TOKEN_CREATED)
    assert created.user == hospital_triage and created.path == MINE
    assert key not in str(created.detail)


def test_the_office_issues_a_machine_token_that_acts_as_the_institution(alliance_office, world):
    client = browser(alliance_office)

    token, key = create_machine(client, world["center"], "泥城HIS")

    account = token.user
    assert account.staff_profile.institution == world["center"]
    assert account.staff_profile.role == Role.COMMUNITY_STAFF
    assert account.get_full_name() == "泥城HIS" and token.created_by == alliance_office
    lifetime = token.expiry - token.created
    assert abs(lifetime - datetime.timedelta(days=365)) < datetime.timedelta(seconds=5)
    # The same rows as the centre's staff: its own and its station's residents only.
    assert patient_names(key) == {"张伟", "李芳"}
    hospital_token, hospital_key = create_machine(client, world["hospital"], "院区HIS")
    assert hospital_token.user.staff_profile.role == Role.HOSPITAL_STAFF
    page = client.get(OFFICE).content.decode()
    assert "泥城HIS" in page and "院区HIS" in page and key not in page
    created = AccessLog.objects.filter(kind=AccessKind.TOKEN_CREATED, user=alliance_office)
    assert created.count() == 2


def test_the_office_revokes_a_machine_token_and_its_account_with_it(alliance_office, world):
    client = browser(alliance_office)
    token, key = create_machine(client, world["center"])
    assert patient_names(key) == {"张伟", "李芳"}

    response = client.post(f"{OFFICE}{token.digest}/revoke/")

    assert response.status_code == 302 and response.url == OFFICE
    assert patient_names(key) == 401
    token.user.refresh_from_db()
    assert not token.user.is_active
    entry = AccessLog.objects.get(kind=AccessKind.TOKEN_REVOKED)
    assert entry.user == alliance_office and entry.detail["owner"] == token.user.username


def test_the_office_revokes_a_staff_members_personal_token(alliance_office, clinic_doctor):
    token, key = create_personal(browser(clinic_doctor), "泥城导出")
    client = browser(alliance_office)
    assert "泥城导出" in client.get(OFFICE).content.decode()

    response = client.post(f"{OFFICE}{token.digest}/revoke/")

    assert response.status_code == 302
    assert patient_names(key) == 401
    assert clinic_doctor.is_active  # a person's account stays; only the token ends


def test_a_machine_client_revokes_its_own_token_with_delete(alliance_office, world):
    token, key = create_machine(browser(alliance_office), world["center"])

    assert api_with(key).delete("/api/v1/auth/token/").status_code == 204

    assert patient_names(key) == 401
    assert AccessLog.objects.filter(kind=AccessKind.TOKEN_REVOKED, user=token.user).exists()


# -- the access log -----------------------------------------------------------------------------


def test_a_token_sign_in_is_in_the_access_log(clinic_doctor):
    APIClient().post(
        "/api/v1/auth/token/", {"username": "clinic_doctor", "password": PASSWORD}, format="json"
    )

    entry = AccessLog.objects.get(kind=AccessKind.LOGIN)
    assert entry.user == clinic_doctor and entry.detail["channel"] == "api"
    assert entry.path == "/api/v1/auth/token/" and entry.method == "POST"


def test_machine_token_use_is_logged_once_a_minute_per_token(alliance_office, world):
    token, key = create_machine(browser(alliance_office), world["center"])
    client = api_with(key)
    client.get("/api/v1/patients/")  # issued just now: its first minute is its creation
    assert not AccessLog.objects.filter(kind=AccessKind.TOKEN_USED).exists()

    ApiToken.objects.update(last_used_at=timezone.now() - datetime.timedelta(minutes=2))
    for _ in range(3):
        assert client.get("/api/v1/patients/").status_code == 200

    used = AccessLog.objects.get(kind=AccessKind.TOKEN_USED)
    assert used.user == token.user and used.detail["token"] == "HIS 接口"
    assert used.method == "GET" and used.path == "/api/v1/patients/" and used.ip_address
    assert used.user.get_full_name() == "HIS 接口"  # the audit page names the system


def test_sign_in_token_use_writes_no_use_rows(clinic_doctor, api):
    api.as_user(clinic_doctor)
    ApiToken.objects.update(last_used_at=timezone.now() - datetime.timedelta(minutes=2))

    api.get("/api/v1/patients/")

    assert not AccessLog.objects.filter(kind=AccessKind.TOKEN_USED).exists()


def test_a_personal_token_costs_no_query_more_than_a_sign_in_token(clinic_doctor, api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _token, personal_key = create_personal(browser(clinic_doctor))
    api.as_user(clinic_doctor)
    with CaptureQueriesContext(connection) as sign_in:
        api.get("/api/v1/patients/")
    with CaptureQueriesContext(connection) as personal:
        api_with(personal_key).get("/api/v1/patients/")
    assert len(sign_in) > 0 and len(personal) == len(sign_in)
    # Once a minute: the last-use UPDATE and the access-log INSERT, nothing else.
    ApiToken.objects.update(last_used_at=timezone.now() - datetime.timedelta(minutes=2))
    with CaptureQueriesContext(connection) as stale:
        api_with(personal_key).get("/api/v1/patients/")
    assert len(stale) == len(sign_in) + 2


def test_the_office_page_costs_the_same_queries_for_many_tokens(
    alliance_office, clinic_doctor, world
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    office = browser(alliance_office)
    create_machine(office, world["center"], "一")
    create_personal(browser(clinic_doctor), "一")
    with CaptureQueriesContext(connection) as few:
        office.get(OFFICE)
    for n in range(4):
        create_machine(office, world["hospital"], f"系统{n}")
        create_personal(browser(clinic_doctor), f"脚本{n}")
    with CaptureQueriesContext(connection) as many:
        assert office.get(OFFICE).status_code == 200
    assert len(few) > 0 and len(many) == len(few)
