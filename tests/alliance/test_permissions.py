"""The permission matrix: every API and page URL of the alliance app, walked by every persona.

One row per URL, one column per persona (plus anonymous). A status here is a decision: changing
who may see what means changing this table, in review, on purpose.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import PERSONAS

pytestmark = pytest.mark.django_db

WHO = [*PERSONAS, "anonymous"]

ALL_200 = dict.fromkeys(PERSONAS, 200) | {"anonymous": 401}
PATIENT_LIST = ALL_200 | {"bureau_viewer": 403, "no_profile_user": 403}
# Reference data is for staff: an account without a staff profile sees no row of it.
REFERENCE_DETAIL = ALL_200 | {"no_profile_user": 404}
# The patient registered at the clinic doctor's centre, which is in the Lingang alliance.
PATIENT_DETAIL = {
    "clinic_doctor": 200,
    "outsider_clinic_user": 404,
    "hospital_triage": 404,
    "center_staff": 404,
    "alliance_office": 200,
    "bureau_viewer": 403,
    "no_profile_user": 403,
    "superuser": 200,
    "anonymous": 401,
}

API_MATRIX = [
    ("/api/v1/", None, ALL_200),
    ("/api/v1/me/", None, ALL_200),
    ("/api/v1/institutions/", None, ALL_200),
    ("/api/v1/institutions/{}/", "hospital", REFERENCE_DETAIL),
    ("/api/v1/departments/", None, ALL_200),
    ("/api/v1/departments/{}/", "cardiology", REFERENCE_DETAIL),
    ("/api/v1/alliances/", None, ALL_200),
    ("/api/v1/alliances/{}/", "alliance", REFERENCE_DETAIL),
    ("/api/v1/patients/", None, PATIENT_LIST),
    ("/api/v1/patients/{}/", "patient", PATIENT_DETAIL),
]

LOGIN = "/accounts/login/?next="
PAGE = dict.fromkeys(PERSONAS, 200) | {"anonymous": LOGIN}
PUBLIC = dict.fromkeys(WHO, 200)
ADMIN = dict.fromkeys(WHO, "/admin/login/?next=") | {"superuser": 200}

PAGE_MATRIX = [
    ("/", None, PAGE),
    ("/alliance/institutions/", None, PAGE),
    ("/alliance/institutions/{}/", "hospital", PAGE | {"no_profile_user": 404}),
    ("/alliance/institutions/{}/", "foreign_center", PAGE | {"no_profile_user": 404}),
    ("/accounts/login/", None, PUBLIC),
    # The schema and its viewers map every endpoint: signed-in users only (issue 13, item 11).
    ("/api/docs/", None, dict.fromkeys(PERSONAS, 200) | {"anonymous": LOGIN}),
    ("/api/redoc/", None, dict.fromkeys(PERSONAS, 200) | {"anonymous": LOGIN}),
    ("/api/schema/", None, dict.fromkeys(PERSONAS, 200) | {"anonymous": 401}),
    # API tokens: everyone's own; the office's machine tokens and revocations (issue 13).
    ("/accounts/tokens/", None, PAGE),
    (
        "/alliance/tokens/",
        None,
        dict.fromkeys(PERSONAS, 403)
        | {
            "alliance_office": 200,
            "superuser": 200,
            "anonymous": LOGIN,
        },
    ),
    # Load balancers and operators call the health check without an account.
    ("/healthz/", None, PUBLIC),
    ("/admin/", None, ADMIN),
    ("/admin/alliance/patient/", None, ADMIN),
]


def user_for(request, who: str):
    return None if who == "anonymous" else request.getfixturevalue(who)


def expand(matrix):
    return [
        pytest.param(url, key, who, expected[who], id=f"{url.format(key or '')}-{who}")
        for url, key, expected in matrix
        for who in WHO
    ]


@pytest.mark.parametrize(("url", "key", "who", "expected"), expand(API_MATRIX))
def test_api_permission_matrix(request, world, url, key, who, expected):
    client = APIClient()
    user = user_for(request, who)
    if user is not None:
        client.force_authenticate(user)

    response = client.get(url.format(world[key].pk if key else ""))

    assert response.status_code == expected, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    if expected != 200:
        assert response.json()["detail"]


@pytest.mark.parametrize(("url", "key", "who", "expected"), expand(PAGE_MATRIX))
def test_page_permission_matrix(request, world, url, key, who, expected):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    user = user_for(request, who)
    if user is not None:
        client.force_login(user)
    path = url.format(world[key].pk if key else "")

    response = client.get(path)

    if isinstance(expected, str):
        assert response.status_code == 302, response.content[:300]
        assert response["Location"] == expected + path
    else:
        assert response.status_code == expected, response.content[:300]


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_token_and_session_authentication_agree(api, persona, world):
    """A browser session on the API sees what the same user's token sees."""
    session = APIClient()
    session.force_login(persona)

    for url in ("/api/v1/patients/", f"/api/v1/patients/{world['patient'].pk}/"):
        assert session.get(url).status_code == api.as_user(persona).get(url).status_code


@pytest.mark.parametrize("who", WHO)
def test_no_persona_may_write_reference_data_through_the_api(request, world, who):
    client = APIClient()
    user = user_for(request, who)
    if user is not None:
        client.force_authenticate(user)

    for url in (
        "/api/v1/institutions/",
        "/api/v1/alliances/",
        f"/api/v1/institutions/{world['hospital'].pk}/",
    ):
        expected = 401 if user is None else 405  # reference data is edited in the admin
        assert client.post(url, {"name": "x"}, format="json").status_code == expected, url
        assert client.delete(url).status_code == expected, url
        assert client.put(url, {"name": "x"}, format="json").status_code == expected, url
    # Departments: contact cards are kept by their owners (tests/alliance/test_contact_cards.py);
    # nobody deletes one, and only the office or a superuser gets past the role check.
    department = f"/api/v1/departments/{world['cardiology'].pk}/"
    keeps_cards = who in ("alliance_office", "superuser")
    denied = 401 if user is None else 403
    post = client.post("/api/v1/departments/", {"name": "x"}, format="json")
    assert post.status_code == (400 if keeps_cards else denied)
    assert client.delete(department).status_code == (401 if user is None else 405)


@pytest.mark.parametrize("who", ["anonymous", "no_profile_user", "bureau_viewer"])
def test_healthz_reports_the_database_without_authentication(request, world, who):
    client = Client()
    user = user_for(request, who)
    if user is not None:
        client.force_login(user)

    response = client.get("/healthz/")

    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["status"] == "ok"
