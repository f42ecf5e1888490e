"""The health bureau reaches no patient-level page, API or export: every URL of the site, walked.

Every URL pattern Django resolves (tests/security/site.py `pages()`) is requested with GET by the
bureau of A's district, its parameters filled with real objects of that district. Each must be
classified below; an unclassified URL fails and says where to classify it, so a new page cannot
slip past. Patient-level pages answer 403 or 404 (or send to the login page); the aggregate pages
answer 200; no answer, whatever its status, carries a patient's name, identity number or phone,
and none is a 5xx.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client
from openpyxl import load_workbook

from . import site
from .world import World


@dataclass(frozen=True)
class Expect:
    statuses: frozenset[int]
    reason: str
    login_redirect: bool = False  # a redirect to the login page also counts


def deny(reason: str) -> Expect:
    return Expect(frozenset({403, 404}), reason, login_redirect=True)


def ok(reason: str) -> Expect:
    return Expect(frozenset({200}), reason)


def post_only(reason: str) -> Expect:
    return Expect(frozenset({405}), reason)


def redirect(reason: str) -> Expect:
    return Expect(frozenset({302}), reason)


PATIENT = "patient-level"
NOT_BUREAU = "another role's tool, no patient data but not the bureau's"
AGGREGATE = "aggregates only"
OWN = "the bureau's own account, or a public document"
DIRECTORY = "reference data: the directory of institutions, departments and alliances"

# Routes as site.pages() normalizes them; a DRF format suffix (".{format}/") is classified with
# the route without it, and API routes with an object id by the kind of object (see below).
BUREAU_PAGES: dict[str, Expect] = {
    "": ok(AGGREGATE + ": the district summary"),
    "accounts/login/": ok(OWN),
    "accounts/password/change/": ok(OWN),
    "accounts/password/change/done/": ok(OWN),
    "accounts/2fa/": ok(OWN + ": two-factor sign-in"),
    "accounts/2fa/verify/": redirect("no code pending: back to the two-factor page"),
    "accounts/2fa/disable/": post_only("turning two-factor sign-in off"),
    "accounts/tokens/": ok(OWN + ": its API tokens"),
    "accounts/tokens/{digest}/revoke/": post_only("revoking one of its own tokens"),
    "i18n/setlang/": redirect("switching the language: a GET only goes back"),
    "healthz/": ok("liveness: database, cache, worker"),
    "notifications/": ok(OWN + ": its inbox"),
    "notifications/read-all/": post_only("marking its own inbox read"),
    "alliance/institutions/": ok(DIRECTORY),
    "alliance/institutions/{pk}/": ok(DIRECTORY + ": one institution's card"),
    "alliance/institutions/{pk}/contacts/": deny(
        "editing contact cards: the institution's administrator and the alliance office only"
    ),
    "alliance/patients/": deny(PATIENT),
    "alliance/patients/new/": deny(PATIENT),
    "alliance/patients/{pk}/": deny(PATIENT),
    "alliance/patients/{pk}/edit/": deny(PATIENT),
    "alliance/tokens/": deny(NOT_BUREAU + ": the office's machine tokens and revocations"),
    "alliance/tokens/{digest}/revoke/": deny(NOT_BUREAU + ": the office revokes tokens"),
    "alliance/audit/": deny(PATIENT + ": who opened which patient's record (the auditor's)"),
    # the API
    "api/v1/": ok("the API root: a list of links"),
    "api/v1/auth/token/": post_only("obtaining a token"),
    "api/v1/me/": ok(OWN),
    "api/v1/institutions/": ok(DIRECTORY),
    "api/v1/departments/": ok(DIRECTORY),
    "api/v1/alliances/": ok(DIRECTORY),
    "api/v1/centers/": ok("the shared centers of the user's alliances: none for the bureau"),
    "api/v1/patients/": deny(PATIENT),
    "api/v1/patients/lookup/": post_only(PATIENT + "; its POST is refused in test_idor"),
    "api/v1/referrals/": deny(PATIENT),
    "api/v1/referrals/suggest-targets/": deny(PATIENT + ": where to refer a patient"),
    "api/v1/follow-ups/": deny(PATIENT),
    "api/v1/orders/": deny(PATIENT),
    "api/v1/slots/": deny(PATIENT + ": bookings"),
    "api/v1/sterilization/packages/": deny(PATIENT + ": whom packages were used on"),
    "api/v1/sterilization/packages/move/": post_only("scanning packages"),
    "api/v1/sterilization/cycles/": deny(NOT_BUREAU),
    "api/v1/sterilization/requests/": deny(NOT_BUREAU),
    "api/v1/facts/{kind}/import/": deny(NOT_BUREAU + ": the office's import"),
    "api/v1/facts/jobs/{pk}/": deny(NOT_BUREAU + ": the office's import jobs"),
    "api/v1/cockpit/": ok(AGGREGATE + ": the cockpit's figures, counts of its district"),
    "api/v1/indicators/": ok(AGGREGATE),
    "api/v1/indicators/definitions/": ok("the indicators' definitions"),
    "api/schema/": ok("the API's schema"),
    "api/docs/": ok("the API's documentation"),
    "api/redoc/": ok("the API's documentation"),
    # referrals
    "referrals/": deny(PATIENT),
    "referrals/incoming/": deny(PATIENT),
    "referrals/to-refer-back/": deny(PATIENT),
    "referrals/new/": deny(PATIENT),
    "referrals/follow-ups/": deny(PATIENT),
    "referrals/limits/": deny(NOT_BUREAU + ": the office sets response limits"),
    "referrals/follow-ups/{pk}/done/": deny(PATIENT),
    "referrals/{pk}/": deny(PATIENT),
    "referrals/{pk}/slip/": deny(PATIENT),
    "referrals/{pk}/attachments/": deny(PATIENT),
    "referrals/{pk}/attachments/{attachment_id}/": deny(PATIENT + ": the file itself"),
    "referrals/{pk}/{action}/": deny(PATIENT),
    # shared centers
    "centers/": deny(NOT_BUREAU + ": the catalog to order from"),
    "centers/orders/": deny(PATIENT),
    "centers/orders/new/": deny(PATIENT),
    "centers/orders/{pk}/": deny(PATIENT),
    "centers/orders/{pk}/report/": deny(PATIENT),
    "centers/orders/{pk}/{action}/": deny(PATIENT),
    "centers/worklist/": deny(PATIENT),
    "centers/slots/": deny(PATIENT + ": bookings"),
    "centers/dashboard/": deny(NOT_BUREAU + ": the centers' and the office's figures"),
    "centers/sterilization/": deny(PATIENT + ": whom packages were used on"),
    "centers/sterilization/packages/{pk}/": deny(PATIENT),
    "centers/sterilization/cycles/": deny(NOT_BUREAU),
    "centers/sterilization/cycles/{pk}/": deny(PATIENT + ": the recall report names patients"),
    "centers/sterilization/requests/": deny(NOT_BUREAU),
    "centers/sterilization/requests/new/": deny(NOT_BUREAU),
    "centers/sterilization/requests/{pk}/": deny(NOT_BUREAU),
    # reporting
    "reporting/": ok(AGGREGATE + ": the bureau's dashboard"),
    "reporting/cockpit/": ok(AGGREGATE + ": the cockpit of its district"),
    "reporting/institutions/{pk}/": ok(AGGREGATE + ": an institution of its district"),
    "reporting/recompute/": deny(NOT_BUREAU + ": the office recomputes"),
    "reporting/recompute/{pk}/": deny(NOT_BUREAU),
    "reporting/recompute/{pk}/rerun/": deny(NOT_BUREAU + ": running a recomputation again"),
    "reporting/imports/": deny(NOT_BUREAU + ": the office imports"),
    "reporting/imports/{pk}/": deny(NOT_BUREAU),
    "reporting/imports/{pk}/confirm/": deny(NOT_BUREAU + ": confirming an import"),
    "reporting/imports/{pk}/rerun/": deny(NOT_BUREAU + ": running an import again"),
    "reporting/imports/template/{kind}.csv": deny(NOT_BUREAU),
}

# Not walked, each for a reason.
SKIPPED = {
    "admin/": "Django's admin: is_staff accounts only, with its own model permissions",
    "accounts/logout/": "logging out would end the walk's session",
    settings.STATIC_URL.lstrip("/"): "static files: no data",
    (settings.MEDIA_URL or "/media/").lstrip("/"): "uploads are served only through the views",
}


def skipped(route: str) -> bool:
    return any(route.startswith(prefix) for prefix in SKIPPED if prefix)


PAGES = [page for page in site.pages() if not skipped(page.route)]


def classification_key(route: str) -> str:
    return re.sub(r"\.\{format\}/$", "/", route).replace("//", "/")


SCHEMA_METHODS: dict[str, set[str]] = {}
for _op in site.operations(site.api_schema()):
    SCHEMA_METHODS.setdefault(_op.path, set()).add(_op.method)


def expectation(page: site.Page) -> Expect:
    key = classification_key(page.route)
    if key.startswith("api/v1/") and "{pk}" in key:
        # An object of the API: by its kind (test_idor.py tests every method on it).
        kind = site.object_kind(page)
        methods = SCHEMA_METHODS.get("/" + key.replace("{pk}", "{id}"), set())
        if "GET" not in methods:
            return post_only(f"{sorted(methods)} only; test_idor.py sends those")
        if kind in site.REFERENCE_KINDS:
            return ok(DIRECTORY)
        return deny(f"{PATIENT}: {kind}")
    if key not in BUREAU_PAGES:
        pytest.fail(
            f"classify the URL {page.route!r} ({page.name}) for the health bureau: add it to "
            f"BUREAU_PAGES in {__name__} (deny / ok / post_only / redirect, with the reason), "
            "or to SKIPPED with the reason it is not walked"
        )
    return BUREAU_PAGES[key]


def bureau_client(world: World) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(world.user("bureau"))
    return client


def text_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def assert_no_patient_data(world: World, text: str, where: str) -> None:
    """No patient's name, identity number or phone (full or masked), and no number of a
    referral, order, package, cycle or supply request: nothing below an aggregate."""
    watched = {
        secret
        for side in ("A", "B")
        for secret in world.patient_secrets[side] + world.markers[side]
    }
    shown = sorted(secret for secret in watched if secret in text)
    assert not shown, f"{where}: shows patient-level data to the bureau: {shown}"


def test_the_walk_covers_the_site():
    routes = {page.route for page in PAGES}
    assert len(PAGES) >= 100
    # Each app's pages and the API are among them.
    for prefix in ("referrals/", "centers/", "reporting/", "alliance/", "api/v1/"):
        assert any(route.startswith(prefix) for route in routes), prefix


def test_every_classified_url_still_exists():
    keys = {classification_key(page.route) for page in PAGES}
    stale = sorted(set(BUREAU_PAGES) - keys)
    assert not stale, f"remove from BUREAU_PAGES, no such URL any more: {stale}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.route or "/")
def test_the_bureau_reaches_no_patient_level_url(page, world_db):
    expect = expectation(page)
    try:
        url = site.page_url(page, world_db, "A")
    except site.Unmapped as exc:
        pytest.fail(str(exc))
    response = bureau_client(world_db).get(url)
    assert response.status_code < 500, f"{url}: {response.status_code}"
    statuses = set(expect.statuses)
    if expect.login_redirect and response.status_code == 302:
        assert response["Location"].startswith(settings.LOGIN_URL), response["Location"]
    else:
        assert response.status_code in statuses, (
            f"{url} ({expect.reason}) answered the bureau {response.status_code}, "
            f"expected {sorted(statuses)}"
        )
    assert_no_patient_data(world_db, text_of(response), f"GET {url}")


def test_the_aggregate_pages_show_the_districts_figures(world_db):
    client = bureau_client(world_db)
    home = text_of(client.get("/"))
    assert world_db.things["A"]["district"].name in home
    dashboard = text_of(client.get("/reporting/"))
    assert world_db.things["A"]["alliance"].name in dashboard
    hospital = world_db.things["A"]["hospital"]
    assert hospital.name in text_of(client.get(f"/reporting/institutions/{hospital.pk}/"))
    # Another district's institution is not the bureau's: 404, its existence undisclosed.
    other = world_db.things["B"]["hospital"]
    assert client.get(f"/reporting/institutions/{other.pk}/").status_code == 404


EXPORTS = [
    ("/reporting/", table, fmt, status)
    for table, status in (
        ("comparison", 200),
        ("headline", 200),
        ("monthly", 200),
        ("centers", 404),
    )  # the centers' table is the office's
    for fmt in ("csv", "xlsx")
] + [
    ("/reporting/institutions/{hospital}/", table, fmt, 200)
    for table in ("years", "monthly")
    for fmt in ("csv", "xlsx")
]


@pytest.mark.parametrize("path, table, fmt, status", EXPORTS)
def test_the_bureaus_exports_carry_no_patient_data(world_db, path, table, fmt, status):
    url = path.format(hospital=world_db.things["A"]["hospital"].pk)
    response = bureau_client(world_db).get(url, {"format": fmt, "table": table})
    assert response.status_code == status, response.content[:300]
    if status != 200:
        return
    if fmt == "xlsx":
        workbook = load_workbook(io.BytesIO(response.content), read_only=True)
        text = "\n".join(
            str(value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    else:
        text = response.content.decode("utf-8-sig")
    assert text.strip(), f"{url} {table}.{fmt} is empty"
    assert_no_patient_data(world_db, text, f"{url}?format={fmt}&table={table}")
