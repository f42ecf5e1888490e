"""Schemathesis against /api/schema/ for every role: no 5xx, and every response matches the schema.

The schema is loaded from the site itself (Django's WSGI application, no server). Two runs, each
bounded and repeatable, so CI runs the same cases every time:

* fuzzing, for each role (clinic doctor, hospital triage, shared-center staff, alliance office,
  health bureau, superuser): MAX_EXAMPLES generated requests per operation, valid and invalid
  ones (generation mode "all"), derandomized;
* the coverage phase, as the superuser (who reaches every code path): schemathesis' own
  deterministic boundary and malformed inputs for each parameter and body field.

Path ids are replaced by real objects of A's world (tests/security/world.py, built once for the
module), so the requests reach referrals, orders, packages... in their various states. Every
request runs in a savepoint that is rolled back: no example sees what the one before it wrote.

Status-code conformance is not checked: drf-spectacular documents the success answers and the
400s the views declare, not the 401/403/404 that every operation may give.
"""

from __future__ import annotations

import json
import zlib

import jsonschema
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from . import site
from .world import World

MAX_EXAMPLES = 10
# Clinic doctor, hospital triage, shared-center staff, alliance office, health bureau, superuser.
ROLES = ["A.clinic", "A.triage", "A.lab", "A.office", "bureau", "root"]
CHECKS = [not_a_server_error, response_schema_conformance]
HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _config(phases: dict) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
            "phases": {"stateful": {"enabled": False}, **phases},
        }
    )


HOSTS = override_settings(ALLOWED_HOSTS=["localhost", "testserver"])  # werkzeug's and Django's
APP = get_wsgi_application()


def _load(config: schemathesis.Config):
    """The schema /api/schema/ serves, rendered by its own renderer: the endpoint itself needs a
    signed-in user, and no account exists while tests are collected."""
    document = json.loads(OpenApiJsonRenderer().render(site.api_schema()))
    loaded = schemathesis.openapi.from_dict(document, config=config)
    loaded.app = APP
    loaded.location = "/api/schema/?format=json"
    return loaded


with HOSTS:
    fuzzing = _load(_config({"coverage": {"enabled": False}}))
    boundaries = _load(_config({"examples": {"enabled": False}, "fuzzing": {"enabled": False}}))


@pytest.fixture(scope="module")
def wsgi_ready(sec_world):
    """Requests go through Django's own handler, in the test's thread and connection: the
    handler must not close that connection between requests (the test client's behaviour)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with HOSTS:
            yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def use_real_objects(case, world: World) -> None:
    """Path ids of objects of A's world (the roles' own), so each example reaches a real
    referral, order, package... in one of its states, not a 404 for an id that exists nowhere
    (test_idor.py is about those). Which object is derived from the generated input, so the
    choice is as repeatable as the case."""
    if not case.path_parameters:
        return
    operation = site.Operation(case.method.upper(), case.operation.path, {})
    kinds = site.parameter_kinds(operation)
    seed = zlib.crc32(repr((case.query, case.body)).encode())
    for name, kind in kinds.items():
        if kind is None:
            continue
        ids = world.ids("A", kind)
        # An attachment belongs to the first referral: keep the pair.
        pick = 0 if "attachment_id" in kinds else seed % len(ids)
        case.path_parameters[name] = ids[pick]


def call_and_validate(case, world: World, role: str) -> None:
    use_real_objects(case, world)
    headers = {"Authorization": f"Token {world.tokens[role]}"}
    with transaction.atomic():
        case.call_and_validate(headers=headers, checks=CHECKS)
        transaction.set_rollback(True)


@fuzzing.parametrize()
@pytest.mark.parametrize("role", ROLES)
@HYPOTHESIS
def test_the_api_answers_every_role_within_its_schema(case, role, world_db, wsgi_ready):
    call_and_validate(case, world_db, role)


@boundaries.parametrize()
@HYPOTHESIS
def test_boundary_and_malformed_inputs_get_no_5xx(case, world_db, wsgi_ready):
    call_and_validate(case, world_db, "root")


# --- regressions of what the runs above found ---------------------------------------------------


@pytest.mark.parametrize(
    "component, field",
    [
        ("Referral", "exam_type"),
        ("Referral", "outcome"),
        ("ReferralEvent", "from_status"),
        ("ServiceItem", "modality"),
        ("ServiceItem", "specimen_type"),
        ("LabResult", "flag"),
        ("ExamOrder", "rejection_reason"),
        ("OrderEvent", "from_status"),
        ("PackageEvent", "from_status"),
    ],
)
def test_a_blank_choice_is_one_the_schema_allows(component, field):
    """These columns are blank=True: a draft has no outcome, a creation event no from_status.
    Their read-only fields once documented an enum without "", and every list failed."""
    schema = site.api_schema()
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{component}/properties/{field}", **schema}
    )
    assert validator.is_valid("")
    assert not validator.is_valid("no-such-choice")


@pytest.mark.parametrize(
    "params, status",
    [
        ({"alliance": "10100216391737982976"}, 200),  # beyond any bigint: was a 500
        ({"alliance": "²"}, 400),  # str.isdigit() says yes, int() says no: was a 500
        ({"institution": "A-HOSP\x00"}, 400),  # PostgreSQL refuses a NUL: was a 500
    ],
)
def test_odd_indicator_filters_are_answered_not_crashed(client_as, params, status):
    response = client_as("bureau").get("/api/v1/indicators/", params)
    assert response.status_code == status, response.content[:300]
    if status == 200:
        assert response.json()["results"] == []
    else:
        assert set(params) <= set(response.json()["errors"])
