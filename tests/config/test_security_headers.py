"""Security headers: the Content Security Policy, no-store for patient data, production headers."""

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.test import Client

from referrals import services as referral_services
from sharedcenters import services as center_services
from sharedcenters.models import ServiceItem, SharedCenter
from tests.config.test_settings import run_manage

PRODUCTION_SECRET = "p" * 60 + "-Zq9"


class MarkupAudit(HTMLParser):
    """Collects what a strict CSP would refuse: inline scripts and style or on* attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_script_nonces: list[str | None] = []
        self.forbidden_attributes: list[str] = []
        self.style_elements = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name in names:
            if name == "style" or name.startswith("on"):
                self.forbidden_attributes.append(f"<{tag} {name}=…>")
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.inline_script_nonces.append(names.get("nonce"))
        if tag == "style":
            self.style_elements += 1


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def assert_csp_clean(response) -> None:
    assert response.status_code == 200
    directives = policy(response)
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
    assert directives["script-src"][0] == "'self'"
    # The nonce is in the header when the page asked for one (every page built on base.html does).
    nonces = [v[len("'nonce-") : -1] for v in directives["script-src"] if v.startswith("'nonce-")]
    audit = MarkupAudit()
    audit.feed(response.content.decode())
    assert audit.forbidden_attributes == []
    assert audit.style_elements == 0
    assert all(found in nonces for found in audit.inline_script_nonces), (nonces, audit)
    return nonces


@pytest.fixture
def office_client(alliance_office):
    client = Client()
    client.force_login(alliance_office)
    return client


@pytest.fixture
def referral(world, clinic_doctor):
    referral, _ = referral_services.referral_create(
        actor=clinic_doctor,
        patient=world["patient"],
        to_institution=world["hospital"],
        to_department=world["cardiology"],
        urgency="urgent",
        service="outpatient",
        diagnosis_code="I20.0",
        diagnosis_text="不稳定型心绞痛",
        reason="反复胸痛",
        clinical_summary="胸痛2小时",
        consent=True,
    )
    return referral


@pytest.fixture
def order(world, clinic_doctor):
    lab = SharedCenter.objects.create(
        name="临检中心", kind="lab", institution=world["hospital"], alliance=world["alliance"]
    )
    cbc = ServiceItem.objects.create(
        center=lab,
        code="L001",
        name="血常规",
        tat_routine_hours=Decimal(4),
        tat_urgent_hours=Decimal(1),
        price=Decimal("20.00"),
        specimen_type="blood",
    )
    return center_services.order_create(
        actor=clinic_doctor, center=lab, patient=world["patient"], items=[cbc]
    )


def test_the_policy_allows_nothing_inline_and_nothing_foreign(office_client):
    directives = policy(office_client.get("/"))
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"][0] == "'self'"
    assert directives["style-src"][0] == "'self'" and len(directives["style-src"]) == 2  # + nonce
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["font-src"] == ["'self'", "data:"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]


@pytest.mark.parametrize(
    "url", ["/", "/reporting/?year=2019", "/centers/dashboard/", "/referrals/", "/centers/orders/"]
)
def test_office_pages_have_no_inline_code_without_the_nonce(office_client, url):
    assert len(assert_csp_clean(office_client.get(url))) == 1


def test_referral_and_order_pages_have_no_inline_code_without_the_nonce(
    world, referral, order, clinic_doctor
):
    client = Client()
    client.force_login(clinic_doctor)
    for url in (
        f"/referrals/{referral.pk}/",
        f"/referrals/{referral.pk}/slip/",
        f"/centers/orders/{order.pk}/",
        "/referrals/new/",
        "/centers/orders/new/",
    ):
        assert_csp_clean(client.get(url))


def test_the_login_page_has_no_inline_code_without_the_nonce(db):
    assert_csp_clean(Client().get("/accounts/login/"))


def test_the_dashboard_charts_are_a_static_script_fed_by_json(office_client):
    html = office_client.get("/reporting/?year=2019").content.decode()
    assert '<script id="dash-chart-data" type="application/json">' in html
    assert re.search(r'<script src="/static/js/charts\.js" defer></script>', html)


def test_htmx_is_configured_for_the_policy(office_client):
    html = office_client.get("/").content.decode()
    assert '"includeIndicatorStyles": false' in html
    assert '"allowEval": false' in html


# --- no-store --------------------------------------------------------------------------------


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_patient_data_is_never_stored_by_the_browser(world, referral, order, clinic_doctor, api):
    client = Client()
    client.force_login(clinic_doctor)
    for url in (f"/referrals/{referral.pk}/", f"/centers/orders/{order.pk}/", "/referrals/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "no-store, private", url
    api.as_user(clinic_doctor)
    for url in ("/api/v1/patients/", f"/api/v1/patients/{world['patient'].pk}/"):
        response = api.get(url)
        assert response.status_code == 200, url
        assert no_store(response), url  # token authentication, not the session


def test_session_api_answers_are_not_stored_either(world, office_client):
    response = office_client.get("/api/v1/patients/")
    assert response.status_code == 200
    assert no_store(response)


def test_a_cache_control_chosen_by_the_view_is_kept(referral, clinic_doctor):
    client = Client()
    client.force_login(clinic_doctor)
    # The login page is never_cache: Django's own header stays as it is.
    response = client.get("/accounts/login/")
    assert "max-age=0" in response["Cache-Control"]


def test_anonymous_pages_are_left_to_the_default(db):
    assert not no_store(Client().get("/healthz/"))


# --- production settings ---------------------------------------------------------------------


def test_the_deployment_check_passes_at_warning_level():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=PRODUCTION_SECRET
    )
    assert result.returncode == 0, result.stderr + result.stdout


def _production_setting(expression: str, **env: str) -> str:
    code = f"from django.conf import settings as s; print({expression})"
    result = run_manage("shell", "-c", code, SECRET_KEY=PRODUCTION_SECRET, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]  # after the shell's note on its imports


def test_production_turns_on_https_and_the_browser_protections():
    values = _production_setting(
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_CONTENT_TYPE_NOSNIFF, "
        "s.SECURE_REFERRER_POLICY, s.X_FRAME_OPTIONS, s.SECURE_CROSS_ORIGIN_OPENER_POLICY, "
        "s.SECURE_PROXY_SSL_HEADER"
    )
    assert values == (
        "31536000 True True True True True same-origin DENY same-origin "
        "('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_the_proxy_header_is_set_from_the_environment():
    assert _production_setting("s.SECURE_PROXY_SSL_HEADER", SECURE_PROXY_SSL_HEADER="off") == (
        "None"
    )
    assert (
        _production_setting(
            "s.SECURE_PROXY_SSL_HEADER", SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_SSL:on"
        )
        == "('HTTP_X_FORWARDED_SSL', 'on')"
    )
    result = run_manage("check", SECRET_KEY=PRODUCTION_SECRET, SECURE_PROXY_SSL_HEADER="https")
    assert result.returncode != 0
    assert "is not HTTP_NAME:value" in result.stderr


def test_a_production_page_carries_the_headers(office_client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = office_client.get("/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
