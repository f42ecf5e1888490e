"""Personas, a small alliance and real-service fixtures shared by the whole suite.

The world: a lead hospital, two member centres (one with a village clinic), a centre outside the
alliance, the district bureau, and one patient registered at each primary institution.
"""

import os

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from alliance.choices import Role
from tests.kit.factories import UserFactory, staff_user
from tests.kit.worker import private_queue, require_services, start_worker, stop_worker
from tests.kit.world import World, build_world


@pytest.fixture(autouse=True)
def _language_of_the_site():
    """Every test starts in the site's language: a request the test client made leaves its
    language active in the thread, and a lazy message read later would come out in it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def clinic_doctor(world):
    return staff_user(Role.COMMUNITY_STAFF, world["center"], username="clinic_doctor")


@pytest.fixture
def outsider_clinic_user(world):
    return staff_user(Role.COMMUNITY_STAFF, world["other_center"], username="outsider_clinic")


@pytest.fixture
def hospital_triage(world):
    return staff_user(
        Role.HOSPITAL_STAFF,
        world["hospital"],
        username="hospital_triage",
        department=world["cardiology"],
    )


@pytest.fixture
def center_staff(world):
    return staff_user(Role.CENTER_STAFF, world["hospital"], username="lab_staff")


@pytest.fixture
def alliance_office(world):
    return staff_user(Role.ALLIANCE_OFFICE, world["hospital"], username="office_user")


@pytest.fixture
def bureau_viewer(world):
    return staff_user(Role.BUREAU_VIEWER, world["bureau"], username="bureau_user")


@pytest.fixture
def no_profile_user(world):
    return UserFactory(username="no_profile")


@pytest.fixture
def superuser(world):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


PERSONAS = [
    "clinic_doctor",
    "outsider_clinic_user",
    "hospital_triage",
    "center_staff",
    "alliance_office",
    "bureau_viewer",
    "no_profile_user",
    "superuser",
]


@pytest.fixture
def persona(request):
    """Indirect fixture: `@pytest.mark.parametrize("persona", PERSONAS, indirect=True)`."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` authenticates with a real token header."""

    class TokenClient(APIClient):
        def as_user(self, user):
            from alliance.models import ApiToken

            _token, key = ApiToken.objects.create(user=user)
            self.credentials(HTTP_AUTHORIZATION=f"Token {key}")
            return self

    return TokenClient()


@pytest.fixture
def browser_client():
    """A Django test client speaking Chinese unless a test switches the language."""
    return Client(HTTP_ACCEPT_LANGUAGE="zh-hans")


# --- real services ----------------------------------------------------------------------------


def require_postgres() -> None:
    """Row locks and a worker in another process need PostgreSQL; CI must not skip them."""
    if connection.vendor != "postgresql":
        message = "needs DATABASE_URL (PostgreSQL)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run this test: {message}")
        pytest.skip(message)


@pytest.fixture
def celery_worker_queue(transactional_db):
    """Start `celery worker` on a private queue against the test database; stop it afterwards."""
    require_services()
    with private_queue() as queue:
        worker = start_worker(queue)
        try:
            yield queue
        finally:
            print(stop_worker(worker))  # shown by pytest only when the test fails
