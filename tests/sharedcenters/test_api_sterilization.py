"""The sterilization API: packages registered, moved in batches by barcode and traced; cycles
started, released or failed, recalled, and the recall report of whom used packages went to.

Unhappy paths first. A batch moves whole or not at all, and a 400 lists every bad barcode; a
patient is shown only to users who may see that patient.
"""

import json

import pytest

from sharedcenters import services
from sharedcenters.models import Package, PackageEvent, SterilizationCycle
from tests.kit.factories import (
    PatientFactory,
)
from tests.sharedcenters.test_api import assert_field_error, assert_json_error

pytestmark = pytest.mark.django_db

PACKAGES = "/api/v1/sterilization/packages/"
MOVE = f"{PACKAGES}move/"
CYCLES = "/api/v1/sterilization/cycles/"
PACKAGE_NAMES = {
    "id",
    "barcode",
    "instrument_set",
    "instrument_set_name",
    "owner",
    "location",
    "status",
    "cycle",
    "sterilized_at",
    "expires_on",
    "used_at",
    "patient",
    "procedure",
    "updated_at",
}
CYCLE_NAMES = {
    "id",
    "center",
    "sterilizer",
    "cycle_number",
    "method",
    "status",
    "started_at",
    "ended_at",
    "physical_result",
    "chemical_result",
    "biological_result",
    "operator",
    "recalled_at",
    "recalled_by",
    "recall_reason",
}


@pytest.fixture
def client_for(api):
    return lambda user: type(api)().as_user(user)


@pytest.fixture
def cssd(client_for, cssd_staff):
    return client_for(cssd_staff)


@pytest.fixture
def doctor(client_for, clinic_doctor):
    return client_for(clinic_doctor)


@pytest.fixture
def start_cycle(centers, cssd_staff):
    def start(number: str = "20260301-01", method: str = "steam"):
        return services.cycle_start(
            actor=cssd_staff,
            center=centers["cssd"],
            sterilizer="1号脉动真空灭菌器",
            cycle_number=number,
            method=method,
        )

    return start


@pytest.fixture
def at_member(start_cycle, cssd_staff, clinic_doctor, outsider_clinic_user):
    """`at_member(packages)`: cleaned, packed, sterilized in a released cycle, stored, dispatched
    and received by their owners (the world's centre or the outsider's); returns the cycle."""

    def bring(packages, cycle=None, release: bool = True):
        cycle = cycle or start_cycle()
        codes = [p.barcode for p in packages]
        for step in ("clean", "pack"):
            services.packages_move(actor=cssd_staff, barcodes=codes, action=step)
        services.packages_move(actor=cssd_staff, barcodes=codes, action="sterilize", cycle=cycle)
        if not release:
            return cycle
        services.cycle_record_results(
            actor=cssd_staff,
            cycle=cycle,
            physical="passed",
            chemical="passed",
            biological="passed",
        )
        for step in ("store", "dispatch"):
            services.packages_move(actor=cssd_staff, barcodes=codes, action=step)
        for member in (clinic_doctor, outsider_clinic_user):
            mine = [p.barcode for p in Package.objects.restrict(member).filter(barcode__in=codes)]
            if mine:
                services.packages_move(actor=member, barcodes=mine, action="receive_by_member")
        return cycle

    return bring


def use(actor, package, patient, procedure="清创缝合术"):
    return services.packages_move(
        actor=actor,
        barcodes=[package.barcode],
        action="use",
        patient=patient,
        procedure=procedure,
    )


def statuses(packages) -> list[str]:
    return list(
        Package.objects.filter(pk__in=[p.pk for p in packages])
        .order_by("barcode")
        .values_list("status", flat=True)
    )


def trace_size() -> int:
    return PackageEvent.objects.count()


# --- Moving packages: refusals -------------------------------------------------------------------


def test_an_unknown_barcode_is_a_400_naming_it_and_nothing_moves(cssd, make_packages):
    packages = make_packages(3)
    before = (statuses(packages), trace_size())

    response = cssd.post(
        MOVE, {"barcodes": ["PKG00001", "NOPE-1", "PKG00002"], "action": "clean"}, "json"
    )

    body = assert_field_error(response, "barcodes")
    assert len(body["barcodes"]) == 1 and "NOPE-1" in body["barcodes"][0]
    assert (statuses(packages), trace_size()) == before


def test_every_bad_barcode_of_a_batch_is_listed(cssd, make_packages, cssd_staff):
    packages = make_packages(4)
    services.packages_move(actor=cssd_staff, barcodes=["PKG00002"], action="clean")
    before = (statuses(packages), trace_size())

    response = cssd.post(
        MOVE, {"barcodes": ["PKG00001", "PKG00002", "X9", "PKG00004"], "action": "clean"}, "json"
    )

    problems = assert_field_error(response, "barcodes")["barcodes"]
    assert len(problems) == 2
    assert "PKG00002" in problems[0] and "X9" in problems[1]
    assert (statuses(packages), trace_size()) == before


def test_a_package_of_another_member_is_not_found_for_a_member(
    client_for, outsider_clinic_user, make_packages, at_member
):
    packages = make_packages(1)
    at_member(packages)

    response = client_for(outsider_clinic_user).post(
        MOVE, {"barcodes": ["PKG00001"], "action": "expire"}, "json"
    )

    assert "未找到" in assert_field_error(response, "barcodes")["barcodes"][0]
    assert statuses(packages) == ["received_by_member"]


def test_a_member_may_not_take_a_center_step(doctor, make_packages, at_member):
    packages = make_packages(1)
    at_member(packages)

    response = doctor.post(MOVE, {"barcodes": ["PKG00001"], "action": "dispatch"}, "json")

    assert_field_error(response, "barcodes")
    assert statuses(packages) == ["received_by_member"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action": "clean"}, "barcodes"),
        ({"barcodes": [], "action": "clean"}, "barcodes"),
        ({"barcodes": ["  "], "action": "clean"}, "barcodes"),
        ({"barcodes": ["PKG00001"]}, "action"),
        ({"barcodes": ["PKG00001"], "action": "fly"}, "action"),
        ({"barcodes": ["PKG00001"], "action": "register"}, "action"),
        ({"barcodes": ["PKG00001"], "action": "clean", "cycle": 999999}, "cycle"),
        ({"barcodes": [f"P{n}" for n in range(201)], "action": "clean"}, "barcodes"),
        ({"barcodes": "PKG00001", "action": "clean"}, "barcodes"),
    ],
)
def test_a_bad_move_body_is_a_400_naming_the_field(cssd, make_packages, data, field):
    packages = make_packages(1)
    before = (statuses(packages), trace_size())

    assert_field_error(cssd.post(MOVE, data, format="json"), field)
    assert (statuses(packages), trace_size()) == before


def test_loading_without_a_cycle_is_a_400(cssd, make_packages, cssd_staff):
    packages = make_packages(2)
    for step in ("clean", "pack"):
        services.packages_move(actor=cssd_staff, barcodes=["PKG00001", "PKG00002"], action=step)

    response = cssd.post(
        MOVE, {"barcodes": ["PKG00001", "PKG00002"], "action": "sterilize"}, "json"
    )

    assert_field_error(response, "cycle")
    assert statuses(packages) == ["inspected_packed", "inspected_packed"]


def test_loading_into_a_released_cycle_conflicts(cssd, make_packages, cssd_staff, start_cycle):
    packages = make_packages(1)
    for step in ("clean", "pack"):
        services.packages_move(actor=cssd_staff, barcodes=["PKG00001"], action=step)
    cycle = start_cycle()
    services.cycle_record_results(
        actor=cssd_staff, cycle=cycle, physical="passed", chemical="passed", biological="passed"
    )

    response = cssd.post(
        MOVE, {"barcodes": ["PKG00001"], "action": "sterilize", "cycle": cycle.pk}, "json"
    )

    assert_json_error(response, 409)
    assert statuses(packages) == ["inspected_packed"]


def test_using_a_package_on_a_patient_the_member_cannot_see_is_a_400(
    doctor, make_packages, at_member, world
):
    packages = make_packages(1)
    at_member(packages)

    response = doctor.post(
        MOVE,
        {"barcodes": ["PKG00001"], "action": "use", "patient": world["other_patient"].pk},
        format="json",
    )

    assert_field_error(response, "patient")
    assert statuses(packages) == ["received_by_member"]


@pytest.mark.parametrize(
    ("persona_name", "status"),
    [("bureau_viewer", 403), ("no_profile_user", 403), ("anonymous", 401)],
)
def test_users_without_a_role_in_sterilization_may_not_move(
    api, make_packages, request, persona_name, status
):
    packages = make_packages(1)
    if persona_name != "anonymous":
        api.as_user(request.getfixturevalue(persona_name))

    assert_json_error(api.post(MOVE, {"barcodes": ["PKG00001"], "action": "clean"}, "json"), status)
    assert statuses(packages) == ["received"]


# --- Registering ---------------------------------------------------------------------------------


def test_registering_answers_201_with_the_package(cssd, instrument_set, world, cssd_staff):
    data = {"instrument_set": instrument_set.pk, "owner": world["center"].pk, "barcode": " A1 "}

    response = cssd.post(PACKAGES, data, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == PACKAGE_NAMES
    assert (body["barcode"], body["status"], body["owner"], body["location"]) == (
        "A1",
        "received",
        world["center"].pk,
        world["hospital"].pk,
    )
    assert body["instrument_set_name"] == "清创缝合包" and body["patient"] is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"barcode": "PKG00001"}, "barcode"),
        ({"barcode": ""}, "barcode"),
        ({"owner": "foreign_center"}, "owner"),
        ({"instrument_set": 999999}, "instrument_set"),
        ({"owner": None}, "owner"),
    ],
)
def test_registering_with_a_bad_field_is_a_400(
    cssd, make_packages, instrument_set, world, overrides, field
):
    make_packages(1)
    data = {"instrument_set": instrument_set.pk, "owner": world["center"].pk, "barcode": "NEW1"}
    data |= {k: world[v].pk if v in world else v for k, v in overrides.items() if v is not None}
    data = {k: v for k, v in data.items() if k not in overrides or overrides[k] is not None}

    assert_field_error(cssd.post(PACKAGES, data, format="json"), field)
    assert Package.objects.count() == 1


@pytest.mark.parametrize("persona_name", ["clinic_doctor", "center_staff", "alliance_office"])
def test_only_the_sterilization_centers_staff_register(
    api, instrument_set, world, request, persona_name
):
    api.as_user(request.getfixturevalue(persona_name))
    data = {"instrument_set": instrument_set.pk, "owner": world["center"].pk, "barcode": "NEW1"}

    assert_json_error(api.post(PACKAGES, data, format="json"), 403)
    assert not Package.objects.exists()


# --- Moving packages: the happy paths ------------------------------------------------------------


def test_a_batch_of_50_packages_moves_in_one_request(cssd, make_packages):
    packages = make_packages(50)
    before = trace_size()

    response = cssd.post(
        MOVE,
        {"barcodes": [p.barcode for p in packages], "action": "clean", "note": "批量清洗"},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["moved"] == 50 and len(body["packages"]) == 50
    assert {p["status"] for p in body["packages"]} == {"cleaned"}
    assert set(body["packages"][0]) == PACKAGE_NAMES
    assert statuses(packages) == ["cleaned"] * 50
    assert trace_size() == before + 50
    assert set(PackageEvent.objects.filter(to_status="cleaned").values_list("note", flat=True)) == {
        "批量清洗"
    }


MOVE_QUERIES = 10  # token, profile, savepoints (2), scope (3), the lock, one update, one insert


def test_a_batch_moves_in_the_same_number_of_queries_for_5_and_for_50_packages(
    cssd, make_packages, django_assert_max_num_queries
):
    few_codes = [p.barcode for p in make_packages(5, prefix="A")]
    many_codes = [p.barcode for p in make_packages(50, prefix="B")]

    with django_assert_max_num_queries(MOVE_QUERIES) as few:
        assert (
            cssd.post(MOVE, {"barcodes": few_codes, "action": "clean"}, "json").status_code == 200
        )
    with django_assert_max_num_queries(MOVE_QUERIES) as more:
        moved = cssd.post(MOVE, {"barcodes": many_codes, "action": "clean"}, "json")

    assert moved.json()["moved"] == 50
    assert len(more) == len(few)


def test_a_package_goes_round_the_whole_loop_through_the_api(
    cssd, doctor, make_packages, start_cycle, world, clinic_doctor
):
    make_packages(2)
    codes = ["PKG00001", "PKG00002"]
    cycle = start_cycle()

    def move(client, action, **extra):
        response = client.post(MOVE, {"barcodes": codes, "action": action, **extra}, "json")
        assert response.status_code == 200, (action, response.content)
        return response.json()["packages"]

    move(cssd, "clean")
    move(cssd, "pack")
    loaded = move(cssd, "sterilize", cycle=cycle.pk)
    assert {p["cycle"] for p in loaded} == {cycle.pk}
    released = cssd.post(
        f"{CYCLES}{cycle.pk}/results/",
        {"physical": "passed", "chemical": "passed", "biological": "passed"},
        "json",
    )
    assert released.json()["status"] == "released"
    stored = move(cssd, "store")
    assert all(p["expires_on"] for p in stored)
    dispatched = move(cssd, "dispatch")
    assert {p["location"] for p in dispatched} == {world["center"].pk}
    move(doctor, "receive_by_member")
    codes = ["PKG00001"]
    used = move(doctor, "use", patient=world["patient"].pk, procedure="清创缝合术")
    assert used[0]["patient"] == {"id": world["patient"].pk, "name": "张伟"}
    assert used[0]["procedure"] == "清创缝合术" and used[0]["used_at"]
    move(doctor, "collect")
    back = move(cssd, "receive")
    assert (back[0]["status"], back[0]["location"]) == ("received", world["hospital"].pk)


# --- Reading packages ----------------------------------------------------------------------------


@pytest.fixture
def used_package(make_packages, at_member, clinic_doctor, world):
    """Three packages of the world's centre at the member; the first used on its patient."""
    packages = make_packages(3)
    cycle = at_member(packages)
    use(clinic_doctor, packages[0], world["patient"])
    return packages[0], cycle, packages


@pytest.mark.parametrize(
    ("persona_name", "patient_shown"),
    [
        ("clinic_doctor", True),
        ("alliance_office", True),
        ("superuser", True),
        ("cssd_staff", False),
    ],
)
def test_the_patient_of_a_used_package_is_shown_only_to_who_may_see_them(
    api, used_package, world, request, persona_name, patient_shown
):
    package, _cycle, _ = used_package
    api.as_user(request.getfixturevalue(persona_name))
    expected = {"id": world["patient"].pk, "name": "张伟"} if patient_shown else None

    detail = api.get(f"{PACKAGES}{package.pk}/").json()
    listed = api.get(PACKAGES, {"barcode": package.barcode}).json()["results"]
    trace = api.get(f"{PACKAGES}{package.pk}/events/").json()

    assert detail["patient"] == expected and listed[0]["patient"] == expected
    assert trace[-1]["to_status"] == "used" and trace[-1]["patient"] == expected
    assert detail["procedure"] == trace[-1]["procedure"] == "清创缝合术"


def test_the_trace_lists_every_step_in_order(doctor, used_package, cssd_staff, clinic_doctor):
    package, cycle, _ = used_package

    trace = doctor.get(f"{PACKAGES}{package.pk}/events/").json()

    assert [e["to_status"] for e in trace] == [
        "received",
        "cleaned",
        "inspected_packed",
        "sterilized",
        "stored",
        "dispatched",
        "received_by_member",
        "used",
    ]
    assert trace[3]["cycle"] == cycle.pk
    assert trace[0]["actor"] == cssd_staff.get_username()
    assert trace[-1]["actor"] == clinic_doctor.get_username()
    assert set(trace[0]) == {
        "id",
        "from_status",
        "to_status",
        "cycle",
        "location",
        "actor",
        "at",
        "note",
        "patient",
        "procedure",
    }


def test_another_members_package_is_a_404(client_for, outsider_clinic_user, used_package):
    package, _cycle, _ = used_package
    outsider = client_for(outsider_clinic_user)

    assert_json_error(outsider.get(f"{PACKAGES}{package.pk}/"), 404)
    assert_json_error(outsider.get(f"{PACKAGES}{package.pk}/events/"), 404)


PACKAGE_MATRIX = {
    "clinic_doctor": 3,
    "outsider_clinic_user": 1,
    "hospital_triage": 0,
    "center_staff": 0,
    "cssd_staff": 4,
    "alliance_office": 4,
    "superuser": 4,
    "bureau_viewer": 403,
    "no_profile_user": 403,
    "anonymous": 401,
}


@pytest.mark.parametrize("persona_name", PACKAGE_MATRIX)
def test_each_persona_lists_the_packages_it_may_see(
    api, make_packages, world, request, persona_name
):
    make_packages(3)
    make_packages(1, owner=world["other_center"], prefix="OUT")
    if persona_name != "anonymous":
        api.as_user(request.getfixturevalue(persona_name))

    response = api.get(PACKAGES)

    expected = PACKAGE_MATRIX[persona_name]
    if expected >= 400:
        assert_json_error(response, expected)
    else:
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == expected


def test_package_filters(cssd, used_package, world, instrument_set, make_packages):
    package, cycle, packages = used_package
    make_packages(2, owner=world["other_center"], prefix="OUT")

    def barcodes(**params):
        response = cssd.get(PACKAGES, params)
        assert response.status_code == 200, response.content
        return [row["barcode"] for row in response.json()["results"]]

    assert barcodes(status="used") == ["PKG00001"]
    assert barcodes(status=["used", "received"]) == ["OUT00001", "OUT00002", "PKG00001"]
    assert barcodes(owner=world["other_center"].pk) == ["OUT00001", "OUT00002"]
    assert barcodes(location=world["center"].pk) == ["PKG00001", "PKG00002", "PKG00003"]
    assert barcodes(cycle=cycle.pk) == ["PKG00001", "PKG00002", "PKG00003"]
    assert len(barcodes(instrument_set=instrument_set.pk)) == 5
    assert barcodes(barcode=" PKG00002 ") == ["PKG00002"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "lost"),
        ("owner", "abc"),
        ("location", "999999"),
        ("cycle", "999999"),
        ("instrument_set", "x"),
    ],
)
def test_an_invalid_package_filter_is_a_400_naming_it(cssd, make_packages, field, value):
    make_packages(1)

    assert field in assert_json_error(cssd.get(PACKAGES, {field: value}), 400)["errors"]


def test_the_package_list_is_paginated_by_barcode(cssd, make_packages):
    make_packages(5)

    first = cssd.get(PACKAGES, {"page_size": 2}).json()
    seen = [row["barcode"] for row in first["results"]]
    response = first
    while response["next"]:
        response = cssd.get(response["next"]).json()
        seen += [row["barcode"] for row in response["results"]]

    assert set(first) == {"next", "previous", "results"}
    assert seen == [f"PKG{n:05d}" for n in range(1, 6)]


PACKAGE_LIST_QUERIES = 6  # token, profile, the user's scope, the page, visible patients (≤2)


@pytest.mark.parametrize("persona_name", ["clinic_doctor", "cssd_staff", "alliance_office"])
def test_the_package_list_makes_the_same_number_of_queries_for_3_and_for_20_packages(
    api,
    make_packages,
    at_member,
    start_cycle,
    clinic_doctor,
    world,
    request,
    persona_name,
    django_assert_max_num_queries,
):
    patients = [PatientFactory(home_institution=world["center"]) for _ in range(20)]

    def used(packages):
        at_member(packages, cycle=start_cycle(packages[0].barcode))
        for package, patient in zip(packages, patients, strict=False):
            use(clinic_doctor, package, patient)

    api.as_user(request.getfixturevalue(persona_name))
    used(make_packages(3, prefix="A"))
    with django_assert_max_num_queries(PACKAGE_LIST_QUERIES) as few:
        first = api.get(PACKAGES, {"page_size": 200}).json()["results"]
    used(make_packages(17, prefix="B"))
    with django_assert_max_num_queries(PACKAGE_LIST_QUERIES) as more:
        second = api.get(PACKAGES, {"page_size": 200}).json()["results"]

    assert (len(first), len(second)) == (3, 20)
    assert len(more) == len(few)
    shown = persona_name != "cssd_staff"
    assert all((row["patient"] is not None) == shown for row in second)


# --- Cycles --------------------------------------------------------------------------------------


def cycle_body(centers, **overrides) -> dict:
    data = {
        "center": centers["cssd"].pk,
        "sterilizer": "2号灭菌器",
        "cycle_number": "C-001",
        "method": "steam",
    }
    return {k: v for k, v in (data | overrides).items() if v is not None}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"method": "boiling"}, "method"),
        ({"cycle_number": None}, "cycle_number"),
        ({"center": "lab"}, "center"),
        ({"center": 999999}, "center"),
        ({"started_at": "yesterday"}, "started_at"),
    ],
)
def test_starting_a_cycle_with_a_bad_field_is_a_400(cssd, centers, overrides, field):
    overrides = {k: centers[v].pk if v in centers else v for k, v in overrides.items()}

    assert_field_error(cssd.post(CYCLES, cycle_body(centers, **overrides), "json"), field)
    assert not SterilizationCycle.objects.exists()


def test_a_cycle_number_is_run_once_per_sterilizer(cssd, centers):
    assert cssd.post(CYCLES, cycle_body(centers), "json").status_code == 201

    assert_field_error(cssd.post(CYCLES, cycle_body(centers), "json"), "cycle_number")
    assert SterilizationCycle.objects.count() == 1


@pytest.mark.parametrize("persona_name", ["clinic_doctor", "center_staff", "alliance_office"])
def test_only_the_centers_staff_start_cycles(api, centers, request, persona_name):
    api.as_user(request.getfixturevalue(persona_name))

    assert_json_error(api.post(CYCLES, cycle_body(centers), "json"), 403)
    assert not SterilizationCycle.objects.exists()


def test_starting_a_cycle_answers_201(cssd, centers, cssd_staff):
    data = cycle_body(centers, started_at="2026-03-01T08:00:00+08:00")

    response = cssd.post(CYCLES, data, "json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == CYCLE_NAMES
    assert (body["status"], body["operator"], body["physical_result"]) == (
        "running",
        cssd_staff.pk,
        "pending",
    )
    assert body["started_at"].startswith("2026-03-01T08:00:00")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"physical": "passed", "chemical": "ok", "biological": "passed"},
        {"physical": "passed", "chemical": "passed"},
    ],
)
def test_recording_bad_results_is_a_400(cssd, start_cycle, data):
    cycle = start_cycle()

    assert_json_error(cssd.post(f"{CYCLES}{cycle.pk}/results/", data, "json"), 400)
    cycle.refresh_from_db()
    assert cycle.status == "running"


def test_passed_indicators_release_the_cycle_and_the_biological_result_follows(cssd, start_cycle):
    cycle = start_cycle()
    url = f"{CYCLES}{cycle.pk}/results/"
    passed = {"physical": "passed", "chemical": "passed", "biological": "passed"}

    running = cssd.post(url, passed | {"chemical": "pending", "biological": "pending"}, "json")
    assert running.json()["status"] == "running"
    released = cssd.post(url, passed | {"biological": "pending"}, "json").json()
    assert (released["status"], released["biological_result"]) == ("released", "pending")
    assert released["ended_at"]
    changed = cssd.post(url, passed | {"physical": "pending", "biological": "pending"}, "json")
    assert_json_error(changed, 400)
    assert set(changed.json()["errors"]) <= {"physical", "chemical", "biological"}
    final = cssd.post(url, passed, "json").json()
    assert (final["status"], final["biological_result"]) == ("released", "passed")

    assert_json_error(cssd.post(url, passed, "json"), 409)


def test_a_failed_indicator_fails_the_cycle_and_blocks_its_packages(cssd, make_packages, at_member):
    packages = make_packages(3)
    cycle = at_member(packages, release=False)

    response = cssd.post(
        f"{CYCLES}{cycle.pk}/results/",
        {"physical": "passed", "chemical": "passed", "biological": "failed"},
        "json",
    )

    body = response.json()
    assert (body["status"], body["biological_result"]) == ("failed", "failed")
    assert body["recalled_at"] and body["recall_reason"]
    assert statuses(packages) == ["blocked"] * 3


def test_a_biological_failure_after_release_recalls_what_was_stored(
    cssd, make_packages, at_member, cssd_staff
):
    packages = make_packages(2)
    cycle = at_member(packages, release=False)
    url = f"{CYCLES}{cycle.pk}/results/"
    released = {"physical": "passed", "chemical": "passed", "biological": "pending"}
    assert cssd.post(url, released, "json").json()["status"] == "released"
    services.packages_move(actor=cssd_staff, barcodes=["PKG00001", "PKG00002"], action="store")

    failed = cssd.post(url, released | {"biological": "failed"}, "json").json()

    assert (failed["status"], failed["biological_result"]) == ("failed", "failed")
    assert failed["recalled_at"]
    assert statuses(packages) == ["blocked", "blocked"]


def test_a_recall_needs_a_reason(cssd, used_package):
    _package, cycle, _ = used_package

    assert_field_error(cssd.post(f"{CYCLES}{cycle.pk}/recall/", {"reason": " "}, "json"), "reason")
    assert_field_error(cssd.post(f"{CYCLES}{cycle.pk}/recall/", {}, "json"), "reason")
    cycle.refresh_from_db()
    assert cycle.recalled_at is None


def test_a_member_may_not_recall(doctor, used_package):
    _package, cycle, _ = used_package

    assert_json_error(doctor.post(f"{CYCLES}{cycle.pk}/recall/", {"reason": "x"}, "json"), 403)


def test_recalling_twice_conflicts(cssd, used_package):
    _package, cycle, _ = used_package
    first = cssd.post(f"{CYCLES}{cycle.pk}/recall/", {"reason": "生物监测阳性"}, "json")
    assert first.status_code == 200, first.content
    trace = trace_size()

    body = assert_json_error(
        cssd.post(f"{CYCLES}{cycle.pk}/recall/", {"reason": "再次"}, "json"), 409
    )

    assert body["code"] == "illegal_transition"
    assert trace_size() == trace


def test_the_recall_report_lists_the_used_packages_and_their_patients(
    api,
    make_packages,
    start_cycle,
    at_member,
    cssd_staff,
    clinic_doctor,
    outsider_clinic_user,
    alliance_office,
    world,
    request,
):
    ours = make_packages(3)
    theirs = make_packages(1, owner=world["other_center"], prefix="OUT")
    cycle = at_member([*ours, *theirs])
    use(clinic_doctor, ours[0], world["patient"])
    use(outsider_clinic_user, theirs[0], world["other_patient"], procedure="拔甲术")
    recall = (
        type(api)()
        .as_user(cssd_staff)
        .post(f"{CYCLES}{cycle.pk}/recall/", {"reason": "生物监测阳性"}, "json")
    )
    assert recall.json()["status"] == "recalled"
    assert statuses([*theirs, *ours]) == ["used", "used", "blocked", "blocked"]

    def report(user):
        response = type(api)().as_user(user).get(f"{CYCLES}{cycle.pk}/recall-report/")
        assert response.status_code == 200, response.content
        return {line["barcode"]: line for line in response.json()}

    office = report(alliance_office)
    assert sorted(office) == ["OUT00001", "PKG00001", "PKG00002", "PKG00003"]
    line = office["PKG00001"]
    assert {k: line[k] for k in ("package", "status")} == {"package": ours[0].pk, "status": "used"}
    assert line["instrument_set"]["name"] == "清创缝合包"
    assert line["owner"] == {"id": world["center"].pk, "name": world["center"].name}
    assert line["location"] == {"id": world["center"].pk, "name": world["center"].name}
    assert len(line["uses"]) == 1
    assert line["uses"][0]["patient"] == {"id": world["patient"].pk, "name": "张伟"}
    assert line["uses"][0]["procedure"] == "清创缝合术" and line["uses"][0]["at"]
    assert line["uses"][0]["location"]["id"] == world["center"].pk
    assert office["PKG00002"]["uses"] == [] and office["PKG00002"]["status"] == "blocked"
    # Each member sees its own packages, and the patients it may see.
    assert sorted(report(clinic_doctor)) == ["PKG00001", "PKG00002", "PKG00003"]
    outsider = report(outsider_clinic_user)
    assert sorted(outsider) == ["OUT00001"]
    assert outsider["OUT00001"]["uses"][0]["patient"]["name"] == "王强"
    # The center follows up through the members: it sees the packages, not the patients.
    center = report(cssd_staff)
    assert len(center) == 4
    assert center["PKG00001"]["uses"][0]["patient"] is None
    text = json.dumps(center, ensure_ascii=False)
    assert "张伟" not in text and "王强" not in text


def test_a_cycle_without_the_users_packages_is_a_404(client_for, hospital_triage, used_package):
    _package, cycle, _ = used_package
    triage = client_for(hospital_triage)

    assert_json_error(triage.get(f"{CYCLES}{cycle.pk}/"), 404)
    assert_json_error(triage.get(f"{CYCLES}{cycle.pk}/recall-report/"), 404)


CYCLE_MATRIX = {
    "clinic_doctor": 1,
    "outsider_clinic_user": 0,
    "hospital_triage": 0,
    "center_staff": 0,
    "cssd_staff": 2,
    "alliance_office": 2,
    "superuser": 2,
    "bureau_viewer": 403,
    "no_profile_user": 403,
    "anonymous": 401,
}


@pytest.mark.parametrize("persona_name", CYCLE_MATRIX)
def test_each_persona_lists_the_cycles_it_may_see(
    api, used_package, start_cycle, request, persona_name
):
    start_cycle("20260301-02")  # empty: only the center and the office see it
    if persona_name != "anonymous":
        api.as_user(request.getfixturevalue(persona_name))

    response = api.get(CYCLES)

    expected = CYCLE_MATRIX[persona_name]
    if expected >= 400:
        assert_json_error(response, expected)
    else:
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == expected


def test_cycles_filter_by_status_and_are_newest_first(cssd, start_cycle, cssd_staff):
    old, new = start_cycle("A"), start_cycle("B")
    services.cycle_record_results(
        actor=cssd_staff, cycle=old, physical="passed", chemical="passed", biological="passed"
    )

    assert [c["id"] for c in cssd.get(CYCLES).json()["results"]] == [new.pk, old.pk]
    assert [c["id"] for c in cssd.get(CYCLES, {"status": "released"}).json()["results"]] == [old.pk]
    assert_json_error(cssd.get(CYCLES, {"status": "lost"}), 400)
