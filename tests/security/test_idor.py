"""IDOR suite built from the OpenAPI schema: a new endpoint is tested the day it appears.

Every operation of the schema is enumerated at collection time (one test id per endpoint):

* an operation on an object (`{id}` and friends) is called by every persona of alliance A with
  the ids of alliance B's objects, and must answer 404 (or 403 where the role may not take the
  action at all, before any row is read) and leak nothing of B;
* a list is walked page by page by every persona of A and must never show one of B's rows;
* a write without an object in its path is sent B's objects in its body, and must refuse them
  exactly as it refuses ids that do not exist (so a request cannot probe what B has);
* the health bureau reaches no patient-level object of its own district, and no list it may read
  carries a patient field, name, identity number or phone.

A path parameter that names an object of a kind site.py does not map fails the test with "add a
mapping for ...", and a write or list without an entry below fails likewise: nothing escapes.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from alliance.models import Department, Patient
from referrals.models import Referral
from reporting.models import OutpatientVisit
from sharedcenters.models import ExamOrder, Package, SterilizationCycle, SupplyRequest
from tests.kit.factories import valid_id_number

from . import site
from .world import PDF, PERSONAS, World

SCHEMA = site.api_schema()
OPERATIONS = site.operations(SCHEMA)
A_PERSONAS = [f"A.{persona}" for persona in PERSONAS]
UNKNOWN_ID = 987654321


def _names_objects(op: site.Operation) -> bool:
    try:
        return any(kind is not None for kind in site.parameter_kinds(op).values())
    except site.Unmapped:
        return True  # the test of the operation fails and says what to map


OBJECT_OPERATIONS = [op for op in OPERATIONS if _names_objects(op)]
LIST_OPERATIONS = [op for op in OPERATIONS if op.is_list]
COLLECTION_WRITES = [op for op in OPERATIONS if op.method != "GET" and op not in OBJECT_OPERATIONS]


def label(op: site.Operation) -> str:
    return op.label


# --- request bodies --------------------------------------------------------------------------


def _later() -> str:
    return (timezone.now() + datetime.timedelta(days=3)).isoformat()


def _pdf() -> SimpleUploadedFile:
    return SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf")


# A valid body for each operation on an object whose schema requires fields, naming objects of
# the same side as the object acted on (an attacker sends a body that would work).
BODIES: dict[tuple[str, str], Callable[[World, str], dict]] = {
    ("PUT", "/api/v1/departments/{id}/"): lambda w, s: {
        "institution": w.things[s]["center"].pk,
        "name": "改名科",
    },
    ("PUT", "/api/v1/patients/{id}/"): lambda w, s: {
        "name": "改名",
        "gender": "male",
        "birth_date": "1990-01-01",
        "id_number": valid_id_number(450),
        "home_institution": w.things[s]["center"].pk,
    },
    ("POST", "/api/v1/referrals/{id}/request_info/"): lambda w, s: {"note": "请补充检查"},
    ("POST", "/api/v1/referrals/{id}/reject/"): lambda w, s: {"reason": "无床位"},
    ("POST", "/api/v1/referrals/{id}/cancel/"): lambda w, s: {"reason": "患者拒绝"},
    ("POST", "/api/v1/referrals/{id}/redirect/"): lambda w, s: {
        "to_institution": w.things[s]["hospital"].pk
    },
    ("POST", "/api/v1/referrals/{id}/schedule/"): lambda w, s: {
        "appointment_at": _later(),
        "place": "门诊2楼",
    },
    ("POST", "/api/v1/referrals/{id}/complete/"): lambda w, s: {
        "outcome": "admitted",
        "summary": "病情稳定",
    },
    ("POST", "/api/v1/referrals/{id}/attachments/"): lambda w, s: {"file": _pdf()},
    ("POST", "/api/v1/orders/{id}/reject/"): lambda w, s: {"reason": "hemolysis"},
    ("POST", "/api/v1/orders/{id}/schedule/"): lambda w, s: {"slot": w.first(s, "slot")},
    ("POST", "/api/v1/orders/{id}/cancel/"): lambda w, s: {"reason": "患者未到"},
    ("POST", "/api/v1/orders/{id}/amend/"): lambda w, s: {
        "reason": "复核后更正",
        "results": [{"analyte": "血钾", "value": "4.0"}],
        "impression": "更正",
    },
    ("POST", "/api/v1/sterilization/cycles/{id}/recall/"): lambda w, s: {"reason": "生物监测阳性"},
    ("POST", "/api/v1/sterilization/cycles/{id}/results/"): lambda w, s: {
        "physical": "passed",
        "chemical": "passed",
        "biological": "failed",
    },
}


def body_for(op: site.Operation, world: World, side: str) -> tuple[dict | None, str]:
    """(body, format) for the operation; fails when its schema requires fields nobody gave."""
    request = op.request_schema
    if request is None:
        return None, "json"
    media_type, component = request
    fmt = "multipart" if media_type.startswith("multipart/") else "json"
    if (op.method, op.path) in BODIES:
        return BODIES[(op.method, op.path)](world, side), fmt
    required = site.required_properties(SCHEMA, component)
    if required:
        pytest.fail(
            f"add a valid request body for {op.label} to BODIES in {__name__} "
            f"(its schema requires {required})"
        )
    return {}, fmt


def call(client, method: str, url: str, body=None, fmt="json"):
    if method == "GET":
        return client.get(url)
    return getattr(client, method.lower())(url, body if body is not None else {}, format=fmt)


def assert_nothing_of(world: World, side: str, response, where: str, sent=()) -> None:
    """No name, identity number or phone (full or masked) of the side's patients, and no
    number of its referrals, orders, packages, cycles, supply requests or jobs (but what the
    request itself `sent`, which an error may quote)."""
    text = text_of(response)
    watched = set(world.patient_secrets[side] + world.markers[side]) - {str(v) for v in sent}
    shown = sorted(secret for secret in watched if secret in text)
    assert not shown, f"{where}: shows data of {side}: {shown}"


def text_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


# --- the schema itself ---------------------------------------------------------------------


def test_the_served_schema_has_the_operations_walked_here(client_as):
    response = client_as("A.clinic").get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:300]
    served = json.loads(response.content)
    assert {op.label for op in site.operations(served)} == {op.label for op in OPERATIONS}


def test_the_suite_walks_every_kind_of_endpoint():
    # A schema that stopped listing something would make the parametrized tests vacuous.
    assert len(OBJECT_OPERATIONS) >= 45
    assert len(LIST_OPERATIONS) >= 16
    assert len(COLLECTION_WRITES) >= 9


# --- objects: details and actions ------------------------------------------------------------


@pytest.mark.parametrize("op", OBJECT_OPERATIONS, ids=label)
def test_objects_of_another_alliance_are_not_found(op, world_db, client_as):
    try:
        url = site.fill(op, world_db, "B")
        kind = site.parameter_kinds(op)["id"]
    except site.Unmapped as exc:
        pytest.fail(str(exc))
    # The ids are right: the superuser reads B's object under them.
    detail = site.fill(site.Operation("GET", site.detail_path(op), {}), world_db, "B")
    sanity = url if op.method == "GET" else detail
    assert client_as("root").get(sanity).status_code == 200, f"{sanity}: wrong ids in the world"

    for persona in A_PERSONAS:
        user = world_db.user(persona)
        body, fmt = body_for(op, world_db, "B")
        response = call(client_as(persona), op.method, url, body, fmt)
        if kind in site.REFERENCE_KINDS and op.method == "GET":
            # Reference data: the directory of every alliance is public to staff.
            assert response.status_code == 200, (persona, response.content[:300])
        elif kind in site.REFERENCE_KINDS:
            # Seen in the directory, but kept by its own institution and alliance office only.
            assert response.status_code == 403, (persona, op.label, response.content[:300])
        else:
            expected = site.expected_denial(user, op.method, url)
            assert response.status_code == expected, (
                f"{persona} {op.method} {url} (B's {kind}): {response.status_code}, "
                f"expected {expected}: {response.content[:300]!r}"
            )
        assert_nothing_of(world_db, "B", response, f"{persona} {op.label}")


def test_an_attachment_of_another_referral_is_not_found_under_ones_own(world_db, client_as):
    own = world_db.first("A", "referral")
    url = f"/api/v1/referrals/{own}/attachments/{{}}/"
    client = client_as("A.clinic")
    assert client.get(url.format(world_db.first("A", "attachment"))).status_code == 200
    response = client.get(url.format(world_db.first("B", "attachment")))
    assert response.status_code == 404
    assert b"%PDF" not in response.content


def test_an_order_of_ones_own_cannot_be_booked_into_another_alliances_slot(world_db, client_as):
    order = world_db.things["A"]["ct_order"]
    response = client_as("A.clinic").post(
        f"/api/v1/orders/{order.pk}/schedule/", {"slot": world_db.first("B", "slot")}, format="json"
    )
    assert response.status_code == 400
    assert "slot" in response.json()
    order.refresh_from_db()
    assert order.slot_id == world_db.first("A", "slot")


# --- lists -----------------------------------------------------------------------------------


def _ids(rows: list[dict]) -> set:
    return {row["id"] for row in rows}


def _targets(rows: list[dict]) -> set:
    return {row["institution"] for row in rows}


def _scopes(rows: list[dict]) -> set:
    return {(row["scope"]["type"], row["scope"]["id"]) for row in rows}


def _of_kind(kind: str) -> Callable[[World, str], set]:
    return lambda world, side: set(world.ids(side, kind))


def _indicator_scopes(world: World, side: str) -> set:
    return {("institution", pk) for pk in world.ids(side, "institution")} | {
        ("alliance", pk) for pk in world.ids(side, "alliance")
    }


@dataclass(frozen=True)
class Listing:
    rows: Callable[[list[dict]], set] | None  # the rows' identities in a page
    forbidden: Callable[[World, str], set] | None  # a side's identities
    params: Callable[[World, str], dict] = field(default=lambda world, side: {})
    reference: bool = False  # B's rows are shown by design (REFERENCE_KINDS)
    viewer: str = "root"  # who sees B's rows, proving the rows are read right
    reason: str = ""  # why a list has no rows of either side


LISTINGS = {
    "/api/v1/institutions/": Listing(_ids, _of_kind("institution"), reference=True),
    "/api/v1/departments/": Listing(_ids, _of_kind("department"), reference=True),
    "/api/v1/alliances/": Listing(_ids, _of_kind("alliance"), reference=True),
    "/api/v1/patients/": Listing(_ids, _of_kind("patient")),
    "/api/v1/referrals/": Listing(_ids, _of_kind("referral")),
    "/api/v1/referrals/suggest-targets/": Listing(
        _targets,
        _of_kind("institution"),
        params=lambda world, side: {"patient": world.things[side]["patient"].pk},
        viewer="B.clinic",  # targets are of the user's own alliances: none for the superuser
    ),
    "/api/v1/follow-ups/": Listing(_ids, _of_kind("follow_up")),
    "/api/v1/centers/": Listing(_ids, _of_kind("center")),
    "/api/v1/orders/": Listing(_ids, _of_kind("order")),
    "/api/v1/slots/": Listing(_ids, _of_kind("slot")),
    "/api/v1/sterilization/packages/": Listing(_ids, _of_kind("package")),
    "/api/v1/sterilization/cycles/": Listing(_ids, _of_kind("cycle")),
    "/api/v1/sterilization/requests/": Listing(_ids, _of_kind("supply_request")),
    "/api/v1/indicators/": Listing(_scopes, _indicator_scopes),
    "/api/v1/indicators/definitions/": Listing(
        None, None, reason="the indicator definitions: the same text for everyone"
    ),
    "/api/v1/me/": Listing(None, None, reason="the caller's own account"),
    "/api/v1/cockpit/": Listing(
        None,
        None,
        reason="aggregates of the caller's reach, no rows: tests/reporting/test_cockpit.py "
        "proves another district's referrals never count and that no patient data is in it",
    ),
}


def walk(client, path: str, params: dict, max_pages: int = 20):
    """(status, rows of every page, the responses) following `next` links."""
    response = client.get(path, {**params, "page_size": 200})
    responses, rows = [response], []
    while response.status_code == 200:
        data = response.json()
        if isinstance(data, list):
            rows += data
            break
        if "results" not in data:
            break
        rows += data["results"]
        if not data.get("next") or len(responses) >= max_pages:
            break
        response = client.get(data["next"])
        responses.append(response)
    return responses[0].status_code, rows, responses


def listing_of(op: site.Operation) -> Listing:
    if op.path not in LISTINGS:
        pytest.fail(
            f"add {op.path} to LISTINGS in {__name__}: how to read its rows' ids, and which "
            "objects of the world it must never show to another alliance"
        )
    return LISTINGS[op.path]


@pytest.mark.parametrize("op", LIST_OPERATIONS, ids=label)
def test_lists_never_show_another_alliances_rows(op, world_db, client_as):
    listing = listing_of(op)
    forbidden = listing.forbidden(world_db, "B") if listing.forbidden else set()
    if listing.rows is not None:
        # The rows are read right: B's rows are in the list of one who may see them.
        _status, rows, _ = walk(client_as(listing.viewer), op.path, listing.params(world_db, "B"))
        assert forbidden & listing.rows(rows), f"{op.path}: {listing.viewer} sees none of B's rows"

    for persona in A_PERSONAS:
        user = world_db.user(persona)
        status, rows, responses = walk(client_as(persona), op.path, listing.params(world_db, "A"))
        expected = 200 if site.allowed_to(user, "GET", op.path) else 403
        assert status == expected, (persona, op.path, responses[0].content[:300])
        if listing.rows is not None and not listing.reference:
            leaked = forbidden & listing.rows(rows)
            assert not leaked, f"{persona} sees B's rows in {op.path}: {sorted(leaked)}"
        for response in responses:
            assert_nothing_of(world_db, "B", response, f"{persona} GET {op.path}")


# Integer query parameters of the lists, by name: the kind of object they name (None: none).
FILTER_KINDS = {
    "page": None,
    "page_size": None,
    "patient": "patient",
    "referral": "referral",
    "center": "center",
    "cycle": "cycle",
    "alliance": "alliance",
    "lead_institution": "institution",
    "institution": "institution",
    "home_institution": "institution",
    "ordering_institution": "institution",
    "from_institution": "institution",
    "to_institution": "institution",
    "owner": "institution",
    "location": "institution",
    "parent": "institution",
    "district": "district",
    "instrument_set": "kit",
}
# Whose mere existence is a secret: "a request cannot probe which patients or referrals exist"
# (sharedcenters/api/serializers.py, RestrictedPrimaryKeyRelatedField; sharedcenters/filters.py
# restricts the patient filter likewise). Centers, cycles and the directory filter by any id.
SECRET_FILTER_KINDS = {"patient", "referral"}


def _object_filters(op: site.Operation) -> list[str]:
    names = [
        p["name"]
        for p in op.spec.get("parameters", [])
        if p["in"] == "query" and p.get("schema", {}).get("type") == "integer"
    ]
    unmapped = [name for name in names if name not in FILTER_KINDS]
    if unmapped:
        pytest.fail(f"add the query parameters {unmapped} of {op.path} to FILTER_KINDS")
    return [name for name in names if FILTER_KINDS[name] in SECRET_FILTER_KINDS]


@pytest.mark.parametrize("op", LIST_OPERATIONS, ids=label)
def test_filters_naming_another_alliances_objects_answer_as_for_unknown_ids(
    op, world_db, client_as
):
    """`?patient=<B's patient>` must answer as `?patient=<no such id>`: else a filter tells
    which ids exist, the probe RestrictedPrimaryKeyRelatedField keeps bodies from."""
    listing = listing_of(op)
    for name in _object_filters(op):
        value = world_db.first("B", FILTER_KINDS[name])
        for persona in A_PERSONAS:
            if not site.allowed_to(world_db.user(persona), "GET", op.path):
                continue
            client = client_as(persona)
            params = listing.params(world_db, "A")
            b = client.get(op.path, {**params, name: value})
            unknown = client.get(op.path, {**params, name: UNKNOWN_ID})
            assert _normalized(b, value) == _normalized(unknown, UNKNOWN_ID), (
                f"{persona} {op.path}?{name}=: B's {FILTER_KINDS[name]} answers differently "
                f"from an unknown id: {b.status_code} {b.content[:300]!r} vs "
                f"{unknown.status_code} {unknown.content[:300]!r}"
            )


# --- writes naming objects in their body -----------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A write by `persona` whose body names `value(world, "B")`, an object of alliance B. It
    must answer `status`, create nothing, and answer exactly as for an id that does not exist
    (`unknown`), unless the object is reference data (unknown=None)."""

    persona: str
    body: Callable[[World, object], dict]
    value: Callable[[World, str], object]
    unknown: object | None
    status: int
    model: type | None = None
    fmt: str = "json"


def _referral_body(world: World, patient) -> dict:
    things = world.things["A"]
    return {
        "patient": patient,
        "to_institution": things["hospital"].pk,
        "to_department": things["cardiology"].pk,
        "diagnosis_code": "I20.0",
        "diagnosis_text": "心绞痛",
        "reason": "胸痛",
        "consent": True,
    }


def _visits_file(world: World, code) -> dict:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "institution_code",
            "record_id",
            "visit_date",
            "visit_type",
            "department",
            "visit_count",
            "total_cost",
        ]
    )
    writer.writerow([code, "X1", f"{timezone.localdate().year - 1}-05-01", "outpatient", "", 1, 10])
    return {"file": SimpleUploadedFile("visits.csv", out.getvalue().encode(), "text/csv")}


PROBES: dict[str, list[Probe]] = {
    # Another alliance's institution is reference data (the directory shows it): refused, not
    # hidden, and nothing is added to it.
    "POST /api/v1/departments/": [
        Probe(
            "A.office",
            lambda w, v: {"institution": v, "name": "新科室"},
            lambda w, s: w.things[s]["center"].pk,
            None,
            400,
            Department,
        ),
    ],
    "POST /api/v1/patients/": [
        Probe(
            "A.clinic",
            lambda w, v: {
                "name": "新居民",
                "gender": "female",
                "birth_date": "1990-01-01",
                "id_number": valid_id_number(451, male=False),
                "home_institution": v,
            },
            lambda w, s: w.things[s]["center"].pk,
            None,
            400,
            Patient,
        ),
    ],
    # Registering B's resident's number answers the documented 409 (never where); the look-up
    # says the same, in the same words (issue 13, item 9), and nothing of the record: the fact
    # that a number is registered is what both disclose, and both are rate-limited per user
    # (tests/alliance/test_identity_number_probes.py). So no `unknown` to compare with here.
    "POST /api/v1/patients/lookup/": [
        Probe(
            "A.clinic",
            lambda w, v: {"id_number": v},
            lambda w, s: w.things[s]["patient"].id_number,
            None,
            409,
        ),
    ],
    "POST /api/v1/referrals/": [
        Probe(
            "A.clinic",
            _referral_body,
            lambda w, s: w.things[s]["patient"].pk,
            UNKNOWN_ID,
            400,
            Referral,
        ),
    ],
    "POST /api/v1/orders/": [
        Probe(
            "A.clinic",
            lambda w, v: {
                "center": w.things["A"]["lab"].pk,
                "patient": v,
                "items": [w.things["A"]["cbc"].pk],
            },
            lambda w, s: w.things[s]["patient"].pk,
            UNKNOWN_ID,
            400,
            ExamOrder,
        ),
        Probe(
            "A.clinic",
            lambda w, v: {
                "center": v,
                "patient": w.things["A"]["patient"].pk,
                "items": [w.things["A"]["cbc"].pk],
            },
            lambda w, s: w.things[s]["lab"].pk,
            UNKNOWN_ID,
            400,
            ExamOrder,
        ),
        Probe(
            "A.clinic",
            lambda w, v: {
                "center": w.things["A"]["lab"].pk,
                "patient": w.things["A"]["patient"].pk,
                "items": [w.things["A"]["cbc"].pk],
                "referral": v,
            },
            lambda w, s: w.things[s]["referral"].pk,
            UNKNOWN_ID,
            400,
            ExamOrder,
        ),
    ],
    "POST /api/v1/sterilization/cycles/": [
        Probe(
            "A.cssd",
            lambda w, v: {
                "center": v,
                "sterilizer": "1号灭菌器",
                "cycle_number": "X-9",
                "method": "steam",
            },
            lambda w, s: w.things[s]["cssd"].pk,
            UNKNOWN_ID,
            400,
            SterilizationCycle,
        ),
    ],
    "POST /api/v1/sterilization/packages/": [
        # Instrument sets are the center's catalog, like its items: not secret, but not
        # another center's to register packages of.
        Probe(
            "A.cssd",
            lambda w, v: {
                "instrument_set": v,
                "owner": w.things["A"]["center"].pk,
                "barcode": "NEW-0001",
            },
            lambda w, s: w.things[s]["kit"].pk,
            None,
            403,
            Package,
        ),
    ],
    "POST /api/v1/sterilization/packages/move/": [
        Probe(
            "A.cssd",
            lambda w, v: {"barcodes": [v], "action": "receive"},
            lambda w, s: w.things[s]["package_codes"][0],
            "NO-SUCH-CODE",
            400,
        ),
        Probe(
            "A.cssd",
            lambda w, v: {
                "barcodes": [w.things["A"]["package_codes"][1]],
                "action": "dispatch",
                "supply_request": v,
            },
            lambda w, s: w.things[s]["supply_request"].pk,
            UNKNOWN_ID,
            400,
        ),
        Probe(
            "A.clinic",
            lambda w, v: {
                "barcodes": [w.things["A"]["package_codes"][0]],
                "action": "use",
                "patient": v,
            },
            lambda w, s: w.things[s]["patient"].pk,
            UNKNOWN_ID,
            400,
        ),
    ],
    "POST /api/v1/sterilization/requests/": [
        Probe(
            "A.clinic",
            lambda w, v: {
                "center": v,
                "lines": [{"instrument_set": w.things["A"]["kit"].pk, "quantity": 1}],
            },
            lambda w, s: w.things[s]["cssd"].pk,
            UNKNOWN_ID,
            400,
            SupplyRequest,
        ),
    ],
    "POST /api/v1/facts/{kind}/import/": [
        Probe(
            "A.office",
            _visits_file,
            lambda w, s: w.things[s]["hospital"].code,
            "NO-SUCH-CODE",
            400,
            OutpatientVisit,
            fmt="multipart",
        ),
    ],
}
# Writes whose body names no object of anyone's.
NO_OBJECTS = {
    "POST /api/v1/auth/token/": "credentials only",
    "DELETE /api/v1/auth/token/": "no body: revokes the token the request carries",
}


def _normalized(response, value) -> object:
    text = response.content.decode()
    text = re.sub(rf"(?<![\w-]){re.escape(str(value))}(?![\w-])", "<VALUE>", text)
    return response.status_code, text


@pytest.mark.parametrize("op", COLLECTION_WRITES, ids=label)
def test_writes_naming_another_alliances_objects_are_refused_as_unknown(op, world_db, client_as):
    if op.label in NO_OBJECTS:
        assert op.label not in PROBES
        return
    if op.label not in PROBES:
        pytest.fail(
            f"add {op.label} to PROBES in {__name__} (a body naming B's objects, and the "
            f"answer it must get), or to NO_OBJECTS with the reason it names none"
        )
    url = site.fill(op, world_db, "A")
    for probe in PROBES[op.label]:
        client = client_as(probe.persona)
        value = probe.value(world_db, "B")
        before = probe.model.objects.count() if probe.model else None
        response = call(client, op.method, url, probe.body(world_db, value), probe.fmt)
        assert response.status_code == probe.status, (probe, response.content[:400])
        if probe.model is not None:
            assert probe.model.objects.count() == before, f"{probe}: something was created"
        assert_nothing_of(world_db, "B", response, f"{probe.persona} {op.label}", [value])
        if probe.unknown is not None:
            unknown = call(client, op.method, url, probe.body(world_db, probe.unknown), probe.fmt)
            assert _normalized(response, value) == _normalized(unknown, probe.unknown), (
                f"{op.label}: B's object is refused differently from an unknown one, so its "
                f"existence shows: {response.content[:300]!r} vs {unknown.content[:300]!r}"
            )


# --- the health bureau -------------------------------------------------------------------------

# Keys that only a patient-level record carries.
PATIENT_KEYS = {"patient", "patients", "id_number", "birth_date", "gender", "patient_name"}


def _keys(data) -> set[str]:
    if isinstance(data, dict):
        return set(data) | {k for value in data.values() for k in _keys(value)}
    if isinstance(data, list):
        return {k for value in data for k in _keys(value)}
    return set()


@pytest.mark.parametrize("op", OBJECT_OPERATIONS, ids=label)
def test_the_bureau_reaches_no_object_below_reference_data(op, world_db, client_as):
    """The bureau's own district is A's: its patients, referrals, orders, packages... are all
    out of reach (403 where the role may not act at all, 404 where the row is not visible)."""
    try:
        kind = site.parameter_kinds(op)["id"]
        url = site.fill(op, world_db, "A")
    except site.Unmapped as exc:
        pytest.fail(str(exc))
    if kind in site.REFERENCE_KINDS:
        return  # the directory: see test_lists_... for what its rows may carry
    body, fmt = body_for(op, world_db, "A")
    response = call(client_as("bureau"), op.method, url, body, fmt)
    expected = site.expected_denial(world_db.user("bureau"), op.method, url)
    assert response.status_code == expected, (op.label, response.content[:300])
    assert_nothing_of(world_db, "A", response, f"bureau {op.label}")


@pytest.mark.parametrize("op", LIST_OPERATIONS, ids=label)
def test_no_list_the_bureau_reads_carries_patient_data(op, world_db, client_as):
    listing = listing_of(op)
    bureau = world_db.user("bureau")
    status, rows, responses = walk(client_as("bureau"), op.path, listing.params(world_db, "A"))
    expected = 200 if site.allowed_to(bureau, "GET", op.path) else 403
    assert status == expected, (op.path, responses[0].content[:300])
    for response in responses:
        assert_nothing_of(world_db, "A", response, f"bureau GET {op.path}")
        assert_nothing_of(world_db, "B", response, f"bureau GET {op.path}")
        if response.status_code == 200:
            carried = _keys(response.json()) & PATIENT_KEYS
            assert not carried, f"bureau GET {op.path}: rows carry {sorted(carried)}"


@pytest.mark.parametrize("op", COLLECTION_WRITES, ids=label)
def test_the_bureau_writes_nothing(op, world_db, client_as):
    """The same bodies, naming objects of the bureau's own district: its role may not write."""
    if op.label in NO_OBJECTS:
        return
    url = site.fill(op, world_db, "A")
    for probe in PROBES.get(op.label, []):
        body = probe.body(world_db, probe.value(world_db, "A"))
        response = call(client_as("bureau"), op.method, url, body, probe.fmt)
        assert response.status_code == 403, (op.label, response.content[:300])
        assert_nothing_of(world_db, "A", response, f"bureau {op.label}")


# --- the pages -------------------------------------------------------------------------------

# Every page (not the API: the schema covers it) by route, as tests/security/site.py walks them.
SITE_PAGES = [
    page
    for page in site.pages()
    if not page.route.startswith(("api/", "admin/", "accounts/logout/"))
]


def _shows_objects(page: site.Page) -> bool:
    try:
        return any(isinstance(k, str) for k in site.page_kinds(page).values())
    except site.Unmapped:
        return True  # the test of the page fails and says what to map


OBJECT_PAGES = [page for page in SITE_PAGES if _shows_objects(page)]
LIST_PAGES = [page for page in SITE_PAGES if not _shows_objects(page)]
# Pages showing an object every staff member may see (the directory's institution card).
REFERENCE_PAGES = {"alliance/institutions/{pk}/"}


def page_client(world: World, persona: str):
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(world.user(persona))
    return client


@pytest.mark.parametrize("page", OBJECT_PAGES, ids=lambda page: page.route)
def test_pages_of_another_alliances_objects_are_not_found(page, world_db):
    try:
        url = site.page_url(page, world_db, "B")
    except site.Unmapped as exc:
        pytest.fail(str(exc))
    # The ids are right: the superuser finds the object (a POST-only page answers 405 first).
    assert page_client(world_db, "root").get(url).status_code in (200, 405), url
    for persona in A_PERSONAS:
        client = page_client(world_db, persona)
        for method in ("GET", "POST"):
            response = getattr(client, method.lower())(url)
            assert response.status_code < 500, (persona, method, url, response.status_code)
            if page.route in REFERENCE_PAGES and method == "GET":
                assert response.status_code == 200, (persona, url)
                continue
            if response.status_code == 405:
                continue  # the page does not take this method at all
            assert response.status_code in (403, 404), (
                f"{persona} {method} {url} (B's {site.object_kind(page)}): {response.status_code}"
            )
            assert_nothing_of(world_db, "B", response, f"{persona} {method} {url}")


@pytest.mark.parametrize("page", LIST_PAGES, ids=lambda page: page.route or "/")
def test_pages_never_show_another_alliances_records(page, world_db):
    """Lists, worklists, dashboards, the inbox: nothing of B, whatever A's role."""
    url = site.page_url(page, world_db, "A")
    for persona in A_PERSONAS:
        response = page_client(world_db, persona).get(url)
        assert response.status_code < 500, (persona, page.route, response.status_code)
        assert_nothing_of(world_db, "B", response, f"{persona} GET /{page.route}")


def test_the_inbox_shows_ones_own_notifications_only(world_db):
    response = page_client(world_db, "A.clinic").get("/notifications/")
    text = text_of(response)
    assert world_db.things["A"]["patient"].name in text  # A's own notification names A's patient
    assert world_db.things["B"]["patient"].name not in text
