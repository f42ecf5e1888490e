"""Every writable related field of every API operation, on create, on update and on actions,
refuses what its user may not name: another alliance's row, and (where the rule is narrower)
another institution's row of the same alliance.

The fields are read from the code at collection time (drf-spectacular's endpoints, each
operation's request serializer, its writable related fields, nested lists included), never
written down: a new writable related field is walked the day it appears, and fails until this
module knows a valid body for its operation (OPERATIONS) and the rows to try (HOSTILE). Each
walk sends the valid body with one field replaced, as a persona of tests/security/world.py, and
asserts a 400 naming the field (or the status EXPECTED says, with its reason), and that nothing
changed; then the unchanged body succeeds, proving the refusal came from that field.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.forms.models import model_to_dict
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import spectacular_settings
from rest_framework import relations, serializers

from alliance.api.references import ReferenceField
from alliance.choices import Role
from alliance.models import Department, Patient
from referrals.models import Referral
from sharedcenters import services as center_services
from sharedcenters.models import ImagingSlot, Package
from tests.kit.factories import (
    DepartmentFactory,
    HospitalFactory,
    InstitutionFactory,
    MembershipFactory,
    staff_user,
    valid_id_number,
)

from .world import World

# --- what the API lets a body name ------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    method: str
    path: str
    field: str  # "lines[].instrument_set" for a field of a nested list
    serializer: type
    model: type
    many: bool
    is_reference_field: bool

    @property
    def op(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def label(self) -> str:
        return f"{self.op} {self.field}"


def _related_fields(serializer: serializers.Serializer, prefix: str = ""):
    for name, field_ in serializer.fields.items():
        if field_.read_only:
            continue
        if isinstance(field_, serializers.ListSerializer) and isinstance(
            field_.child, serializers.Serializer
        ):
            yield from _related_fields(field_.child, f"{prefix}{name}[].")
        elif isinstance(field_, serializers.Serializer):
            yield from _related_fields(field_, f"{prefix}{name}.")
        elif isinstance(field_, relations.ManyRelatedField):
            child = field_.child_relation
            yield f"{prefix}{name}", child, True
        elif isinstance(field_, relations.RelatedField):
            yield f"{prefix}{name}", field_, False


def discover() -> list[Reference]:
    """Every writable related field of every operation's request body, as the schema sees it."""
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    found = []
    for path, regex, method, view in generator._get_paths_and_endpoints():
        if method in ("GET", "DELETE", "HEAD", "OPTIONS"):
            continue
        view.request = spectacular_settings.GET_MOCK_REQUEST(method, path, view, None)
        schema = view.schema
        schema.path, schema.path_regex, schema.method = path, regex, method
        schema.path_prefix = "^/api/"
        serializer = schema.get_request_serializer()
        if isinstance(serializer, dict):  # {media type: serializer}
            serializer = next(iter(serializer.values()))
        if isinstance(serializer, type):
            serializer = serializer()
        if isinstance(serializer, serializers.ListSerializer):
            serializer = serializer.child
        if not isinstance(serializer, serializers.Serializer):
            continue
        for name, field_, many in _related_fields(serializer):
            found.append(
                Reference(
                    method,
                    path,
                    name,
                    type(serializer),
                    field_.queryset.model,
                    many,
                    isinstance(field_, ReferenceField),
                )
            )
    return found


REFERENCES = discover()


def label(reference: Reference) -> str:
    return reference.label


# --- the world, and a few more rows of alliance A ---------------------------------------------


@pytest.fixture
def extra(world_db: World) -> dict:
    """Rows the valid bodies need beyond the shared world: a second hospital and a second
    centre in A's alliance, a lab colleague, a second slot, an order at the lab to report, a
    package packed for a new cycle, one received by the member, one waiting for dispatch."""
    a = world_db.things["A"]
    alliance = a["alliance"]
    hospital2 = HospitalFactory(name="A二院", code="A-HOSP2", district=a["district"])
    surgery = DepartmentFactory(institution=hospital2, name="A二院外科", accepts_referrals=True)
    center2 = InstitutionFactory(name="A二中心", code="A-CHC2", district=a["district"])
    for member in (hospital2, center2):
        MembershipFactory(alliance=alliance, institution=member)
    Department.objects.filter(pk=a["cardiology"].pk).update(accepts_referrals=True)
    colleague = staff_user(Role.CENTER_STAFF, a["hospital"], "a_lab2")
    a["lab"].staff.add(colleague)
    slot = a["slot"]
    slot2 = ImagingSlot.objects.create(
        center=slot.center,
        modality=slot.modality,
        starts_at=slot.starts_at + datetime.timedelta(hours=1),
        ends_at=slot.ends_at + datetime.timedelta(hours=1),
        capacity=10,
    )
    clinic, lab, cssd = (world_db.user(f"A.{key}") for key in ("clinic", "lab", "cssd"))
    order = center_services.order_create(
        actor=clinic, center=a["lab"], patient=a["patient"], items=[a["cbc"]]
    )
    order = center_services.order_collect(actor=clinic, order=order)
    order = center_services.order_receive(actor=lab, order=order)
    reported = center_services.order_create(
        actor=clinic, center=a["lab"], patient=a["patient"], items=[a["cbc"]]
    )
    for step in (center_services.order_collect, center_services.order_receive):
        reported = step(
            actor=clinic if step is center_services.order_collect else lab, order=reported
        )
    reported = center_services.order_report(
        actor=lab, order=reported, results=[{"analyte": "白细胞", "value": "6.0"}]
    )
    center_services.package_register(
        actor=cssd, instrument_set=a["kit"], owner=a["center"], barcode="A-NEW1"
    )
    for step in ("clean", "pack"):
        center_services.packages_move(actor=cssd, barcodes=["A-NEW1"], action=step)
    cycle = center_services.cycle_start(
        actor=cssd, center=a["cssd"], sterilizer="2号灭菌器", cycle_number="A-C2", method="steam"
    )
    codes = a["package_codes"]
    center_services.packages_move(actor=cssd, barcodes=codes[1:2], action="dispatch")
    center_services.packages_move(actor=clinic, barcodes=codes[1:2], action="receive_by_member")
    return {
        "hospital2": hospital2,
        "surgery": surgery,
        "center2": center2,
        "colleague": colleague,
        "slot2": slot2,
        "order": order,
        "reported": reported,
        "cycle": cycle,
    }


# --- a valid body for each operation, by whom, on which object ------------------------------


@dataclass(frozen=True)
class Op:
    persona: str
    body: Callable[[World, dict], dict]  # valid, on A's side
    target: Callable[[World, dict], object] | None = None  # the object of `{id}`
    # Per field, a body where another one is needed (a package move is a different step).
    bodies: dict[str, Callable[[World, dict], dict]] = field(default_factory=dict)
    personas: dict[str, str] = field(default_factory=dict)


def _a(world: World, key: str) -> int:
    return world.things["A"][key].pk


def _patient_body(world: World, extra: dict) -> dict:
    return {
        "name": "新居民",
        "gender": "female",
        "birth_date": "1990-01-01",
        "id_number": valid_id_number(461, male=False),
        "home_institution": _a(world, "center"),
        "signed": True,
        "signing_institution": _a(world, "center"),
        "signed_on": "2024-01-01",
    }


def _referral_body(world: World, extra: dict) -> dict:
    return {
        "patient": _a(world, "patient"),
        "to_institution": _a(world, "hospital"),
        "to_department": _a(world, "cardiology"),
        "from_department": world.ids("A", "department")[1],  # the centre's general practice
        "diagnosis_code": "I20.0",
        "diagnosis_text": "心绞痛",
        "reason": "胸痛",
        "consent": True,
    }


OPERATIONS: dict[str, Op] = {
    "POST /api/v1/departments/": Op(
        "A.office", lambda w, x: {"institution": _a(w, "center"), "name": "新科室"}
    ),
    "PUT /api/v1/departments/{id}/": Op(
        "A.office",
        lambda w, x: {"institution": _a(w, "hospital"), "name": "改名科"},
        lambda w, x: w.things["A"]["cardiology"],
    ),
    "PATCH /api/v1/departments/{id}/": Op(
        "A.office", lambda w, x: {"name": "改名科"}, lambda w, x: w.things["A"]["cardiology"]
    ),
    "POST /api/v1/patients/": Op("A.clinic", _patient_body),
    "PUT /api/v1/patients/{id}/": Op(
        "A.clinic",
        lambda w, x: _patient_body(w, x) | {"id_number": w.things["A"]["patient"].id_number},
        lambda w, x: w.things["A"]["patient"],
    ),
    "PATCH /api/v1/patients/{id}/": Op(
        "A.clinic",
        lambda w, x: {
            "signed": True,
            "signing_institution": _a(w, "center"),
            "signed_on": "2024-01-01",
        },
        lambda w, x: w.things["A"]["patient"],
    ),
    "POST /api/v1/referrals/": Op("A.clinic", _referral_body),
    "PATCH /api/v1/referrals/{id}/": Op(
        "A.clinic",
        lambda w, x: {"from_department": w.ids("A", "department")[1]},
        lambda w, x: w.things["A"]["draft"],
    ),
    "POST /api/v1/referrals/{id}/redirect/": Op(
        "A.triage",
        lambda w, x: {"to_institution": x["hospital2"].pk, "to_department": x["surgery"].pk},
        lambda w, x: w.things["A"]["referral"],
    ),
    "POST /api/v1/orders/": Op(
        "A.clinic",
        lambda w, x: {
            "center": _a(w, "lab"),
            "patient": _a(w, "patient"),
            "items": [_a(w, "cbc")],
            "ordering_department": w.ids("A", "department")[1],
            "referral": _a(w, "referral"),
        },
    ),
    "POST /api/v1/orders/{id}/report/": Op(
        "A.lab",
        lambda w, x: {
            "results": [{"analyte": "白细胞", "value": "6.0"}],
            "reviewed_by": x["colleague"].pk,
        },
        lambda w, x: x["order"],
    ),
    "POST /api/v1/orders/{id}/amend/": Op(
        "A.lab",
        lambda w, x: {
            "results": [{"analyte": "白细胞", "value": "6.2"}],
            "reviewed_by": x["colleague"].pk,
            "reason": "复核更正",
        },
        lambda w, x: x["reported"],
    ),
    "POST /api/v1/orders/{id}/schedule/": Op(
        "A.clinic", lambda w, x: {"slot": x["slot2"].pk}, lambda w, x: w.things["A"]["ct_order"]
    ),
    "POST /api/v1/sterilization/cycles/": Op(
        "A.cssd",
        lambda w, x: {
            "center": _a(w, "cssd"),
            "sterilizer": "1号灭菌器",
            "cycle_number": "X-9",
            "method": "steam",
        },
    ),
    "POST /api/v1/sterilization/packages/": Op(
        "A.cssd",
        lambda w, x: {
            "instrument_set": _a(w, "kit"),
            "owner": _a(w, "center"),
            "barcode": "NEW-0001",
        },
    ),
    "POST /api/v1/sterilization/packages/move/": Op(
        "A.cssd",
        lambda w, x: {},
        bodies={
            "cycle": lambda w, x: {
                "barcodes": ["A-NEW1"],
                "action": "sterilize",
                "cycle": x["cycle"].pk,
            },
            "patient": lambda w, x: {
                "barcodes": w.things["A"]["package_codes"][1:2],
                "action": "use",
                "patient": _a(w, "patient"),
                "procedure": "清创缝合",
            },
            "supply_request": lambda w, x: {
                "barcodes": w.things["A"]["package_codes"][2:3],
                "action": "dispatch",
                "supply_request": _a(w, "supply_request"),
            },
        },
        personas={"patient": "A.clinic"},
    ),
    "POST /api/v1/sterilization/requests/": Op(
        "A.clinic",
        lambda w, x: {
            "center": _a(w, "cssd"),
            "lines": [{"instrument_set": _a(w, "kit"), "quantity": 1}],
            "department": w.ids("A", "department")[1],
        },
    ),
}


# --- what each field must refuse --------------------------------------------------------------

# By the model a field names: rows of alliance B, which no user of A may name anywhere.
HOSTILE: dict[str, Callable[[World, dict], list[int]]] = {
    "Institution": lambda w, x: [w.things["B"]["center"].pk, w.things["B"]["hospital"].pk],
    "Department": lambda w, x: list(w.ids("B", "department")),
    "Patient": lambda w, x: [w.things["B"]["patient"].pk],
    "Referral": lambda w, x: [w.things["B"]["referral"].pk],
    "SharedCenter": lambda w, x: list(w.ids("B", "center")),
    "ServiceItem": lambda w, x: [w.things["B"]["cbc"].pk],
    "ImagingSlot": lambda w, x: [w.things["B"]["slot"].pk],
    "User": lambda w, x: [w.user("B.lab").pk],
    "InstrumentSet": lambda w, x: [w.things["B"]["kit"].pk],
    "SterilizationCycle": lambda w, x: [w.things["B"]["cycle"].pk],
    "SupplyRequest": lambda w, x: [w.things["B"]["supply_request"].pk],
}
# By field: rows of alliance A that the field's rule refuses all the same (another
# institution's, another centre's ...): the holes of issue 13 item 6 were of this kind.
SAME_ALLIANCE: dict[tuple[str, str], Callable[[World, dict], list[int]]] = {
    ("PATCH /api/v1/referrals/{id}/", "from_department"): lambda w, x: [_a(w, "cardiology")],
    ("POST /api/v1/referrals/", "from_department"): lambda w, x: [_a(w, "cardiology")],
    ("PATCH /api/v1/referrals/{id}/", "to_department"): lambda w, x: [x["surgery"].pk],
    ("POST /api/v1/referrals/", "to_department"): lambda w, x: [x["surgery"].pk],
    ("POST /api/v1/referrals/{id}/redirect/", "to_department"): lambda w, x: [_a(w, "cardiology")],
    ("PATCH /api/v1/patients/{id}/", "signing_institution"): lambda w, x: [x["center2"].pk],
    ("PUT /api/v1/patients/{id}/", "signing_institution"): lambda w, x: [x["center2"].pk],
    ("POST /api/v1/patients/", "signing_institution"): lambda w, x: [
        x["center2"].pk,
        _a(w, "hospital"),
    ],
    ("PATCH /api/v1/patients/{id}/", "home_institution"): lambda w, x: [x["center2"].pk],
    ("PUT /api/v1/patients/{id}/", "home_institution"): lambda w, x: [x["center2"].pk],
    ("POST /api/v1/patients/", "home_institution"): lambda w, x: [x["center2"].pk],
    ("POST /api/v1/orders/", "ordering_department"): lambda w, x: [_a(w, "cardiology")],
    ("POST /api/v1/orders/", "items"): lambda w, x: [_a(w, "ct")],
    ("POST /api/v1/orders/{id}/report/", "reviewed_by"): lambda w, x: [w.user("A.imaging").pk],
    ("POST /api/v1/orders/{id}/amend/", "reviewed_by"): lambda w, x: [w.user("A.imaging").pk],
    ("POST /api/v1/sterilization/requests/", "department"): lambda w, x: [_a(w, "cardiology")],
}
# Answers other than a 400, with the reason.
EXPECTED: dict[tuple[str, str], tuple[int, str]] = {
    ("POST /api/v1/sterilization/packages/", "instrument_set"): (
        403,
        "another center's set: only that center's staff register its packages (the action is "
        "refused before the body matters, as tests/security/test_idor.py PROBES says)",
    ),
}
# Fields that are writable on create only: on update the value is ignored, and nothing changes.
CREATE_ONLY = {
    ("PUT", "/api/v1/departments/{id}/", "institution"),
    ("PATCH", "/api/v1/departments/{id}/", "institution"),
}
# Models whose rows a refused request must leave as they were (counted). Not the access log:
# a refusal is recorded there on purpose.
WATCHED = [
    "alliance.Department",
    "alliance.Patient",
    "referrals.Referral",
    "referrals.ReferralEvent",
    "sharedcenters.ExamOrder",
    "sharedcenters.OrderEvent",
    "sharedcenters.LabResult",
    "sharedcenters.Package",
    "sharedcenters.PackageEvent",
    "sharedcenters.SterilizationCycle",
    "sharedcenters.SupplyRequest",
]


def _set(body: dict, path: str, value, many: bool) -> dict:
    body = {**body}
    value = [value] if many else value
    if "[]." in path:
        outer, inner = path.split("[].", 1)
        lines = [dict(line) for line in body[outer]]
        lines[0][inner] = value
        body[outer] = lines
    else:
        body[path] = value
    return body


def _snapshot(target, body: dict) -> tuple:
    counts = tuple(apps.get_model(name).objects.count() for name in WATCHED)
    row = None
    if target is not None:
        target = type(target).objects.get(pk=target.pk)
        row = model_to_dict(target)
    packages = sorted(
        Package.objects.filter(barcode__in=body.get("barcodes", [])).values_list(
            "barcode", "status", "cycle_id", "used_for_patient_id", "location_id"
        )
    )
    return counts, row, packages


def _names_the_field(response, path: str) -> bool:
    errors = response.json().get("errors", {})
    outer = path.split("[].", 1)[0]
    return outer in errors


# --- the tests --------------------------------------------------------------------------------


def test_every_writable_related_field_is_found_and_is_a_reference_field():
    # A schema that stopped yielding bodies would make the walk vacuous.
    assert len(REFERENCES) >= 30, [r.label for r in REFERENCES]
    plain = [r.label for r in REFERENCES if not r.is_reference_field]
    assert not plain, (
        f"{plain}: use alliance.api.references.ReferenceField (rows the user may see, and the "
        "scope of what they may name here) for every writable related field"
    )


@pytest.mark.parametrize("reference", REFERENCES, ids=label)
def test_a_field_refuses_what_its_user_may_not_name(reference, world_db, extra, client_as):
    op = OPERATIONS.get(reference.op)
    if op is None:
        pytest.fail(
            f"add {reference.op} to OPERATIONS in {__name__}: a valid body for it, by whom, on "
            f"which object (its writable related field {reference.field} is walked)"
        )
    model = reference.model.__name__
    if model not in HOSTILE:
        pytest.fail(f"add {model} to HOSTILE in {__name__}: B's rows to name in {reference.label}")
    key = (reference.op, reference.field)
    persona = op.personas.get(reference.field, op.persona)
    client = client_as(persona)
    target = op.target(world_db, extra) if op.target else None
    url = reference.path.replace("{id}", str(target.pk)) if target is not None else reference.path
    body = op.bodies.get(reference.field, op.body)(world_db, extra)
    values = HOSTILE[model](world_db, extra) + SAME_ALLIANCE.get(key, lambda w, x: [])(
        world_db, extra
    )
    expected, _reason = EXPECTED.get(key, (400, ""))
    create_only = (reference.method, reference.path, reference.field) in CREATE_ONLY

    for value in values:
        hostile = _set(body, reference.field, value, reference.many)
        before = _snapshot(target, hostile)
        response = getattr(client, reference.method.lower())(url, hostile, format="json")
        where = f"{persona} {reference.label}={value}"
        if create_only:
            assert response.status_code < 500, (where, response.content[:300])
            assert getattr(type(target).objects.get(pk=target.pk), f"{reference.field}_id") == (
                getattr(target, f"{reference.field}_id")
            ), f"{where}: a create-only field was changed"
            continue
        assert response.status_code == expected, (
            f"{where}: {response.status_code}, expected {expected}: {response.content[:400]!r}"
        )
        if expected == 400:
            assert _names_the_field(response, reference.field), (where, response.json())
        assert _snapshot(target, hostile) == before, f"{where}: something changed"

    # The body was valid but for the field: unchanged, it is accepted.
    response = getattr(client, reference.method.lower())(url, body, format="json")
    assert response.status_code in (200, 201), (
        f"{persona} {reference.op} with the valid body: {response.status_code} "
        f"{response.content[:400]!r}"
    )


# --- the two holes of issue 13 item 6, in the words a client reads ---------------------------


def test_a_referral_update_cannot_move_it_to_another_institutions_department(world_db, client_as):
    draft = world_db.things["A"]["draft"]
    other = world_db.things["A"]["cardiology"]  # the hospital's: the sender is the centre
    client = client_as("A.clinic")
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    response = client.patch(
        f"/api/v1/referrals/{draft.pk}/", {"from_department": other.pk}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["from_department"] == ["该科室属于其他机构。"]
    draft.refresh_from_db()
    assert draft.from_department_id != other.pk


def test_a_patient_update_cannot_sign_the_resident_at_another_centre(world_db, client_as):
    a = world_db.things["A"]
    other = InstitutionFactory(name="A二中心", code="A-CHC2", district=a["district"])
    MembershipFactory(alliance=a["alliance"], institution=other)
    patient = a["patient"]
    client = client_as("A.clinic")
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    response = client.patch(
        f"/api/v1/patients/{patient.pk}/",
        {"signed": True, "signing_institution": other.pk, "signed_on": "2024-01-01"},
        format="json",
    )
    assert response.status_code == 400, response.content
    message = response.json()["errors"]["signing_institution"][0]
    assert "基层" in message, message
    assert not Patient.objects.filter(pk=patient.pk, signing_institution=other).exists()


def test_the_patient_page_refuses_the_same_signing_institution(world_db):
    """The form offers the same institutions as the API accepts (alliance.selectors)."""
    from django.test import Client

    a = world_db.things["A"]
    other = InstitutionFactory(name="A二中心", code="A-CHC2", district=a["district"])
    MembershipFactory(alliance=a["alliance"], institution=other)
    patient = a["patient"]
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(world_db.user("A.clinic"))
    response = client.post(
        f"/alliance/patients/{patient.pk}/edit/",
        {
            "name": patient.name,
            "gender": patient.gender,
            "birth_date": patient.birth_date.isoformat(),
            "phone": patient.phone,
            "address": patient.address,
            "home_institution": a["center"].pk,
            "signed": "on",
            "signing_institution": other.pk,
            "signed_on": "2024-01-01",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "signing_institution" in response.context["form"].errors
    assert not Patient.objects.filter(pk=patient.pk, signing_institution=other).exists()


def test_services_refuse_the_same_references_as_the_api(world_db):
    """Pages, tasks and imports call the services: the rules hold there too."""
    from django.core.exceptions import ValidationError

    from alliance import services as alliance_services
    from referrals import services as referral_services

    a, b = world_db.things["A"], world_db.things["B"]
    clinic = world_db.user("A.clinic")
    with pytest.raises(ValidationError) as error:
        referral_services.referral_update(
            actor=clinic, referral=a["draft"], from_department=a["cardiology"]
        )
    assert "from_department" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        alliance_services.patient_update(
            actor=clinic,
            patient=a["patient"],
            signed=True,
            signing_institution=b["center"],
            signed_on=datetime.date(2024, 1, 1),
        )
    assert "signing_institution" in error.value.message_dict
    assert Referral.objects.get(pk=a["draft"].pk).from_department_id != a["cardiology"].pk
    assert not Patient.objects.filter(pk=a["patient"].pk, signing_institution=b["center"]).exists()


def test_a_kept_value_is_not_named_anew(world_db, client_as):
    """Sending back a value the record already holds passes, even one the user could not name
    today (a signature made elsewhere): keeping is not naming. A new one is refused."""
    a = world_db.things["A"]
    elsewhere = InstitutionFactory(name="A二中心", code="A-CHC2", district=a["district"])
    patient = a["patient"]
    Patient.objects.filter(pk=patient.pk).update(
        signed=True, signing_institution=elsewhere, signed_on=datetime.date(2024, 1, 1)
    )
    client = client_as("A.clinic")
    body = {"name": "改名", "signing_institution": elsewhere.pk}
    response = client.patch(f"/api/v1/patients/{patient.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    assert Patient.objects.get(pk=patient.pk).name == "改名"
    Patient.objects.filter(pk=patient.pk).update(signing_institution=a["center"])
    response = client.patch(f"/api/v1/patients/{patient.pk}/", body, format="json")
    assert response.status_code == 400, response.content


def test_the_patient_page_keeps_a_signature_made_elsewhere(world_db):
    from django.test import Client

    a = world_db.things["A"]
    elsewhere = InstitutionFactory(name="A二中心", code="A-CHC2", district=a["district"])
    patient = a["patient"]
    Patient.objects.filter(pk=patient.pk).update(
        signed=True, signing_institution=elsewhere, signed_on=datetime.date(2024, 1, 1)
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(world_db.user("A.clinic"))
    response = client.post(
        f"/alliance/patients/{patient.pk}/edit/",
        {
            "name": "改名",
            "gender": patient.gender,
            "birth_date": patient.birth_date.isoformat(),
            "phone": patient.phone,
            "address": patient.address,
            "home_institution": a["center"].pk,
            "signed": "on",
            "signing_institution": elsewhere.pk,
            "signed_on": "2024-01-01",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    assert Patient.objects.get(pk=patient.pk).name == "改名"
