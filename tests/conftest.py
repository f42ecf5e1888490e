"""Personas, a small alliance and real-service fixtures shared by the whole suite.

The world: a lead hospital, two member centres (one with a village clinic), a centre outside the
alliance, the district bureau, and one patient registered at each primary institution.
"""

import base64
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from alliance.choices import Role
from tests.kit.factories import UserFactory, staff_user
from tests.kit.world import World, build_world


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


def _require_services() -> None:
    from config.celery import app as celery_app  # noqa: F401 - configured before the worker starts

    missing = []
    if connection.vendor != "postgresql":
        missing.append("DATABASE_URL (PostgreSQL)")
    if not os.environ.get("REDIS_URL") and not os.environ.get("CELERY_BROKER_URL"):
        missing.append("REDIS_URL")
    if missing:
        message = f"needs {' and '.join(missing)} for a real Celery worker"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the worker test: {message}")
        pytest.skip(message)


def _database_url() -> str:
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def celery_worker_queue(transactional_db):
    """Start `celery worker` on a private queue against the test database; stop it afterwards."""
    _require_services()
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # Tasks the worker itself queues (notifications after commit) stay on the private queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "SECRET_KEY": "worker-test-secret",  # noqa: S105
        "DEBUG": "false",
        # Production settings need the patient data keys; the worker must use the suite's own
        # to read the identity numbers the tests wrote.
        "PATIENT_ID_KEYS": ",".join(
            f"{key_id}:{base64.b64encode(key).decode()}"
            for key_id, key in settings.PATIENT_ID_KEYS.items()
        ),
        "PATIENT_ID_HMAC_KEY": base64.b64encode(settings.PATIENT_ID_HMAC_KEY).decode(),
        # Files kept for a job (imports) are read by the worker where the test stored them.
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--queues",
            queue,
            "--hostname",
            f"{queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    from config.celery import app as celery_app

    eager, default_queue = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        celery_app.conf.task_always_eager = eager
        celery_app.conf.task_default_queue = default_queue
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        print(output)  # shown by pytest only when the test fails
