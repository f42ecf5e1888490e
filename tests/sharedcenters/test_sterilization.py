"""Sterilization supply: packages moved by barcode batches (all or none), cycles and their
indicators, recalls and the recall report, expiry, and who may touch which package."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from alliance.choices import Role
from core.errors import ActionNotAllowed, IllegalTransition
from sharedcenters import services
from sharedcenters.choices import CycleStatus, PackageAction, PackageStatus
from sharedcenters.models import (
    InstrumentSet,
    Package,
    PackageEvent,
    SharedCenter,
    SterilizationCycle,
)
from sharedcenters.selectors import recall_report
from tests.kit.factories import PatientFactory, staff_user

P = PackageStatus
A = PackageAction
PASSED = {"physical": "passed", "chemical": "passed", "biological": "passed"}


# --- helpers ---------------------------------------------------------------------------------


def barcodes(packages) -> list[str]:
    return [package.barcode for package in packages]


def statuses(packages) -> list[str]:
    return list(
        Package.objects.filter(pk__in=[p.pk for p in packages])
        .order_by("barcode")
        .values_list("status", flat=True)
    )


def refused(actor, packages_or_codes, action, **extra) -> list[str]:
    """The per-barcode problems of a refused batch (English), after checking nothing moved."""
    codes = [getattr(p, "barcode", p) for p in packages_or_codes]
    before = dict(Package.objects.values_list("barcode", "status"))
    events = PackageEvent.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as error:
        services.packages_move(actor=actor, barcodes=codes, action=action, **extra)
    assert dict(Package.objects.values_list("barcode", "status")) == before
    assert PackageEvent.objects.count() == events
    return error.value.message_dict.get("barcodes", [])


@pytest.fixture
def move(cssd_staff):
    """`move(packages, "clean")` as the center's staff; `actor=` for the member's steps."""

    def move(packages, action, *, actor=None, **extra):
        return services.packages_move(
            actor=actor or cssd_staff, barcodes=barcodes(packages), action=action, **extra
        )

    return move


@pytest.fixture
def start_cycle(cssd_staff, centers):
    def start(number: str = "1", method: str = "steam", **extra) -> SterilizationCycle:
        return services.cycle_start(
            actor=cssd_staff,
            center=centers["cssd"],
            sterilizer="脉动真空灭菌器1号",
            cycle_number=number,
            method=method,
            **extra,
        )

    return start


@pytest.fixture
def record(cssd_staff):
    def record(cycle, **results):
        return services.cycle_record_results(actor=cssd_staff, cycle=cycle, **(PASSED | results))

    return record


@pytest.fixture
def sterilized(move):
    """`sterilized(packages, cycle)`: cleaned, packed and loaded into the cycle."""

    def run(packages, cycle):
        move(packages, A.CLEAN)
        move(packages, A.PACK)
        return move(packages, A.STERILIZE, cycle=cycle)

    return run


@pytest.fixture
def at_member(move, sterilized, record, clinic_doctor):
    """`at_member(packages, cycle)`: sterilized in a released cycle, stored, dispatched and
    received by the owner, ready to use."""

    def run(packages, cycle):
        sterilized(packages, cycle)
        if cycle.status == CycleStatus.RUNNING:
            record(cycle)
        move(packages, A.STORE)
        move(packages, A.DISPATCH)
        return move(packages, A.RECEIVE_BY_MEMBER, actor=clinic_doctor)

    return run


@pytest.fixture
def other_cssd(world):
    """A second sterilization center of the alliance, with its own staff."""
    center = SharedCenter.objects.create(
        name="第二消毒供应中心",
        kind="sterilization",
        institution=world["hospital"],
        alliance=world["alliance"],
        phone="021-68180002",
    )
    staff = staff_user(Role.CENTER_STAFF, world["hospital"], username="other_cssd_staff")
    center.staff.add(staff)
    return {"center": center, "staff": staff}


# --- batches: refusals first ---------------------------------------------------------------------


def test_one_unknown_barcode_refuses_the_whole_batch(make_packages, cssd_staff):
    packages = make_packages(3)
    problems = refused(cssd_staff, [*barcodes(packages), "NOPE-404"], A.CLEAN)
    assert problems == ["NOPE-404: not found."]


def test_one_package_in_the_wrong_state_refuses_the_whole_batch_and_names_it(
    make_packages, move, cssd_staff
):
    packages = make_packages(3)
    move(packages[1:2], A.CLEAN)
    problems = refused(cssd_staff, packages, A.CLEAN)
    assert problems == [f"{packages[1].barcode} is Cleaned."]
    assert statuses(packages) == [P.RECEIVED, P.CLEANED, P.RECEIVED]


def test_every_bad_barcode_of_a_batch_is_listed(make_packages, move, cssd_staff):
    packages = make_packages(4)
    move(packages[:1], A.CLEAN)
    problems = refused(cssd_staff, [*barcodes(packages), "GONE"], A.CLEAN)
    assert len(problems) == 2
    assert problems[0].startswith(packages[0].barcode) and problems[1].startswith("GONE")


@pytest.mark.parametrize(
    "codes, action, key",
    [
        ([], "clean", "barcodes"),
        (["  ", ""], "clean", "barcodes"),
        (["PKG00001"], "polish", "action"),
        ([f"X{n}" for n in range(201)], "clean", "barcodes"),
    ],
)
def test_an_empty_oversized_or_unknown_step_is_a_field_error(
    make_packages, cssd_staff, codes, action, key
):
    make_packages(1)
    with pytest.raises(ValidationError) as error:
        services.packages_move(actor=cssd_staff, barcodes=codes, action=action)
    assert key in error.value.message_dict


def test_a_batch_of_fifty_moves_in_one_call_with_one_event_each(make_packages, move):
    packages = make_packages(50)
    before = PackageEvent.objects.count()
    moved = move(packages, A.CLEAN)
    assert len(moved) == 50
    assert set(statuses(packages)) == {P.CLEANED}
    events = PackageEvent.objects.order_by("pk")[before:]
    assert len(events) == 50
    assert {(e.from_status, e.to_status) for e in events} == {(P.RECEIVED, P.CLEANED)}
    assert {e.package_id for e in events} == {p.pk for p in packages}


def test_a_barcode_scanned_twice_moves_once(make_packages, cssd_staff):
    package = make_packages(1)[0]
    services.packages_move(
        actor=cssd_staff, barcodes=[package.barcode, f" {package.barcode} "], action=A.CLEAN
    )
    assert package.events.filter(to_status=P.CLEANED).count() == 1


# --- cycles --------------------------------------------------------------------------------------


def test_loading_needs_a_cycle(make_packages, move, cssd_staff):
    packages = make_packages(2)
    move(packages, A.CLEAN)
    move(packages, A.PACK)
    with pytest.raises(ValidationError) as error:
        move(packages, A.STERILIZE)
    assert "cycle" in error.value.message_dict
    assert statuses(packages) == [P.INSPECTED_PACKED] * 2


def test_loading_into_a_cycle_that_is_no_longer_running_is_illegal(
    make_packages, move, start_cycle, record
):
    packages = make_packages(2)
    move(packages, A.CLEAN)
    move(packages, A.PACK)
    finished = record(start_cycle())
    with pytest.raises(IllegalTransition):
        move(packages, A.STERILIZE, cycle=finished)
    assert statuses(packages) == [P.INSPECTED_PACKED] * 2


def test_loading_into_a_cycle_of_another_method_names_the_packages(
    make_packages, move, start_cycle
):
    packages = make_packages(2)
    move(packages, A.CLEAN)
    move(packages, A.PACK)
    plasma = start_cycle(method="plasma")
    with translation.override("en"), pytest.raises(ValidationError) as error:
        move(packages, A.STERILIZE, cycle=plasma)
    assert error.value.message_dict["barcodes"] == [
        f"{code} needs another sterilization method." for code in barcodes(packages)
    ]
    assert statuses(packages) == [P.INSPECTED_PACKED] * 2


def test_loading_into_a_cycle_of_another_center_is_refused(
    make_packages, move, cssd_staff, other_cssd
):
    other_cssd["center"].staff.add(cssd_staff)  # works at both: may see both centers' cycles
    elsewhere = services.cycle_start(
        actor=cssd_staff,
        center=other_cssd["center"],
        sterilizer="灭菌器A",
        cycle_number="9",
        method="steam",
    )
    packages = make_packages(1)
    move(packages, A.CLEAN)
    move(packages, A.PACK)
    with pytest.raises(ValidationError):
        move(packages, A.STERILIZE, cycle=elsewhere)


def test_a_cycle_is_started_by_the_centers_staff_with_a_known_method_and_a_new_number(
    start_cycle, centers, clinic_doctor, imaging_staff, cssd_staff
):
    start_cycle("7")
    for actor in (clinic_doctor, imaging_staff):
        with pytest.raises(ActionNotAllowed):
            services.cycle_start(
                actor=actor,
                center=centers["cssd"],
                sterilizer="1号",
                cycle_number="8",
                method="steam",
            )
    with pytest.raises(ValidationError) as error:
        start_cycle("7")
    assert "cycle_number" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        start_cycle("8", method="boiling")
    assert "method" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.cycle_start(
            actor=cssd_staff,
            center=centers["imaging"],
            sterilizer="1号",
            cycle_number="9",
            method="steam",
        )
    assert "center" in error.value.message_dict


def test_results_once_final_cannot_be_recorded_again(start_cycle, record):
    cycle = record(start_cycle())
    with pytest.raises(IllegalTransition):
        record(cycle, biological="failed")
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.RELEASED


def test_an_unknown_indicator_result_is_a_field_error(start_cycle, record):
    cycle = start_cycle()
    with pytest.raises(ValidationError) as error:
        record(cycle, chemical="ok")
    assert list(error.value.message_dict) == ["chemical_result"]
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.RUNNING and cycle.chemical_result == "pending"


def test_only_the_centers_staff_record_results(start_cycle, clinic_doctor, other_cssd):
    cycle = start_cycle()
    for actor in (clinic_doctor, other_cssd["staff"]):
        with pytest.raises(ActionNotAllowed):
            services.cycle_record_results(actor=actor, cycle=cycle, **PASSED)


def test_store_waits_for_physical_and_chemical_indicators(
    make_packages, sterilized, start_cycle, record, cssd_staff
):
    packages = make_packages(2)
    cycle = start_cycle()
    sterilized(packages, cycle)
    cycle = record(cycle, chemical="pending", biological="pending")
    assert cycle.status == CycleStatus.RUNNING and cycle.ended_at is not None
    problems = refused(cssd_staff, packages, A.STORE)
    assert problems == [f"{code}: its cycle has not been released." for code in barcodes(packages)]


def test_a_pending_biological_indicator_releases_ordinary_sets_but_holds_implants(
    make_packages, sterilized, start_cycle, record, cssd_staff, centers, world, move
):
    implants = InstrumentSet.objects.create(
        center=centers["cssd"],
        code="S900",
        name="骨科植入物器械",
        method="steam",
        shelf_life_days=14,
        implant=True,
    )
    ordinary = make_packages(1)
    implant = services.package_register(
        actor=cssd_staff, instrument_set=implants, owner=world["center"], barcode="IMP00001"
    )
    cycle = start_cycle()
    sterilized([*ordinary, implant], cycle)
    cycle = record(cycle, biological="pending")
    assert cycle.status == CycleStatus.RELEASED
    assert refused(cssd_staff, [implant], A.STORE) == [
        "IMP00001: implants wait for the biological indicator."
    ]
    move(ordinary, A.STORE)
    cycle = record(cycle)
    assert cycle.biological_result == "passed"
    assert move([implant], A.STORE)[0].status == P.STORED


def test_a_biological_indicator_failing_after_release_recalls_the_packages_already_used(
    make_packages, sterilized, start_cycle, record, cssd_staff, clinic_doctor, world, move
):
    packages = make_packages(2)
    cycle = start_cycle()
    sterilized(packages, cycle)
    cycle = record(cycle, biological="pending")
    move(packages, A.STORE)
    move(packages, A.DISPATCH)
    move(packages, A.RECEIVE_BY_MEMBER, actor=clinic_doctor)
    move(packages[:1], A.USE, actor=clinic_doctor, patient=world["patient"], procedure="清创")
    cycle = record(cycle, biological="failed")
    assert cycle.status == CycleStatus.FAILED and cycle.recalled_at is not None
    assert statuses(packages) == [P.USED, P.BLOCKED]
    lines = recall_report(cycle)
    assert [(line.package.barcode, [u.patient for u in line.uses]) for line in lines] == [
        (packages[0].barcode, [world["patient"]]),
        (packages[1].barcode, []),
    ]


def test_after_release_only_the_biological_result_may_follow(start_cycle, record):
    cycle = record(start_cycle(), biological="pending")
    with pytest.raises(ValidationError) as error:
        record(cycle, chemical="failed")
    assert list(error.value.message_dict) == ["biological_result"]


def test_results_all_passed_release_the_cycle_for_storage(
    make_packages, sterilized, start_cycle, record, move
):
    packages = make_packages(2)
    cycle = start_cycle()
    sterilized(packages, cycle)
    cycle = record(cycle, biological="pending")
    cycle = record(cycle)
    assert cycle.status == CycleStatus.RELEASED and cycle.biological_result == "passed"
    stored = move(packages, A.STORE)
    expected = timezone.localdate() + datetime.timedelta(days=14)
    assert {p.expires_on for p in stored} == {expected}


def test_a_failed_indicator_fails_the_cycle_and_blocks_its_packages_at_once(
    make_packages,
    sterilized,
    start_cycle,
    record,
    cssd_staff,
    clinic_doctor,
    alliance_office,
    django_capture_on_commit_callbacks,
):
    packages = make_packages(3)
    cycle = start_cycle()
    sterilized(packages, cycle)
    with django_capture_on_commit_callbacks(execute=True):
        cycle = record(cycle, biological="failed")
    assert cycle.status == CycleStatus.FAILED
    assert cycle.recalled_at is not None and cycle.recalled_by == cssd_staff
    assert statuses(packages) == [P.BLOCKED] * 3
    blocks = PackageEvent.objects.filter(to_status=P.BLOCKED)
    assert {(e.from_status, e.cycle_id) for e in blocks} == {(P.STERILIZED, cycle.pk)}
    assert blocks.count() == 3
    for user in (clinic_doctor, alliance_office):
        notification = user.notifications.get(key=f"cycle-recall-{cycle.pk}")
        assert notification.urgent is True
    assert refused(cssd_staff, packages, A.STORE) == [
        f"{code} is Blocked (recall)." for code in barcodes(packages)
    ]


# --- recalls and the recall report ---------------------------------------------------------------


def test_a_recall_needs_a_reason_and_happens_once(start_cycle, record, cssd_staff):
    cycle = record(start_cycle())
    with pytest.raises(ValidationError) as error:
        services.cycle_recall(actor=cssd_staff, cycle=cycle, reason=" ")
    assert "reason" in error.value.message_dict
    services.cycle_recall(actor=cssd_staff, cycle=cycle, reason="BI复检阳性")
    with pytest.raises(IllegalTransition):
        services.cycle_recall(actor=cssd_staff, cycle=cycle, reason="再次召回")


def test_a_member_may_not_recall_a_cycle(start_cycle, record, clinic_doctor):
    cycle = record(start_cycle())
    with pytest.raises(ActionNotAllowed):
        services.cycle_recall(actor=clinic_doctor, cycle=cycle, reason="怀疑")
    cycle.refresh_from_db()
    assert cycle.recalled_at is None


@pytest.fixture
def recalled(
    world,
    make_packages,
    at_member,
    sterilized,
    record,
    start_cycle,
    move,
    cssd_staff,
    clinic_doctor,
):
    """Cycle 1: A used on the patient, B at the member, C on the way, D on the center's shelf.
    Cycle 2: E on the shelf. Cycle 1 is then recalled."""
    a, b, c, d, e = make_packages(5)
    first, second = start_cycle("1"), start_cycle("2")
    at_member([a, b], first)
    sterilized([c, d], first)
    move([c, d], A.STORE)
    move([c], A.DISPATCH)
    move([a], A.USE, actor=clinic_doctor, patient=world["patient"], procedure="清创缝合术")
    sterilized([e], second)
    record(second)
    move([e], A.STORE)
    first = services.cycle_recall(actor=cssd_staff, cycle=first, reason="BI复检阳性")
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "first": first, "second": second}


def test_a_recall_blocks_the_unused_packages_of_that_cycle_only(recalled):
    assert recalled["first"].status == CycleStatus.RECALLED
    assert statuses([recalled[k] for k in "abcde"]) == [
        P.USED,
        P.BLOCKED,
        P.BLOCKED,
        P.BLOCKED,
        P.STORED,
    ]
    block_events = PackageEvent.objects.filter(to_status=P.BLOCKED).order_by("package__barcode")
    assert [(e.package.barcode, e.from_status) for e in block_events] == [
        (recalled["b"].barcode, P.RECEIVED_BY_MEMBER),
        (recalled["c"].barcode, P.DISPATCHED),
        (recalled["d"].barcode, P.STORED),
    ]


def test_the_recall_report_lists_the_cycles_packages_where_they_are_and_whom_they_served(
    recalled, world
):
    lines = recall_report(recalled["first"])
    assert [line.package.barcode for line in lines] == barcodes(
        [recalled[k] for k in "abcd"]
    )  # not E, of the other cycle
    where = {line.package.barcode: (line.package.status, line.package.location) for line in lines}
    assert where == {
        recalled["a"].barcode: (P.USED, world["center"]),
        recalled["b"].barcode: (P.BLOCKED, world["center"]),
        recalled["c"].barcode: (P.BLOCKED, world["center"]),
        recalled["d"].barcode: (P.BLOCKED, world["hospital"]),
    }
    uses = {line.package.barcode: [(u.patient, u.procedure) for u in line.uses] for line in lines}
    assert uses[recalled["a"].barcode] == [(world["patient"], "清创缝合术")]
    assert [uses[recalled[k].barcode] for k in "bcd"] == [[], [], []]


def test_blocked_packages_cannot_be_dispatched_or_used(recalled, cssd_staff, clinic_doctor, world):
    assert refused(cssd_staff, [recalled["d"]], A.DISPATCH) == [
        f"{recalled['d'].barcode} is Blocked (recall)."
    ]
    assert refused(clinic_doctor, [recalled["b"]], A.USE, patient=world["patient"]) == [
        f"{recalled['b'].barcode} is Blocked (recall)."
    ]


def test_blocked_packages_are_collected_for_reprocessing(recalled, move, clinic_doctor, world):
    collected = move([recalled["b"], recalled["c"]], A.COLLECT, actor=clinic_doctor)
    assert {(p.status, p.location) for p in collected} == {(P.COLLECTED, world["center"])}
    received = move(collected, A.RECEIVE)
    assert {(p.status, p.location) for p in received} == {(P.RECEIVED, world["hospital"])}


@pytest.fixture
def reprocessed(world, make_packages, at_member, start_cycle, move, clinic_doctor):
    """One package used on the patient under cycle 1, then reprocessed in cycle 2 and used on
    another patient."""
    package = make_packages(1)
    first, second = start_cycle("1"), start_cycle("2")
    later_patient = PatientFactory(name="陈静", home_institution=world["center"])
    at_member(package, first)
    move(package, A.USE, actor=clinic_doctor, patient=world["patient"], procedure="清创缝合术")
    move(package, A.COLLECT, actor=clinic_doctor)
    move(package, A.RECEIVE)
    at_member(package, second)
    move(package, A.USE, actor=clinic_doctor, patient=later_patient, procedure="脓肿切开引流")
    return {"package": package[0], "first": first, "second": second, "later": later_patient}


def test_a_reprocessed_package_stays_in_the_first_cycles_report_with_its_use_under_it(
    reprocessed, world
):
    (line,) = recall_report(reprocessed["first"])
    assert line.package == reprocessed["package"]
    assert [use.patient for use in line.uses] == [world["patient"]]
    (later,) = recall_report(reprocessed["second"])
    assert [use.patient for use in later.uses] == [reprocessed["later"]]


def test_recalling_the_first_cycle_leaves_a_package_sterilized_again_since(reprocessed, cssd_staff):
    services.cycle_recall(actor=cssd_staff, cycle=reprocessed["first"], reason="BI复检阳性")
    reprocessed["package"].refresh_from_db()
    assert reprocessed["package"].status == P.USED
    assert reprocessed["package"].cycle == reprocessed["second"]


def test_a_member_still_sees_a_cycle_its_package_went_through_after_reprocessing(
    reprocessed, clinic_doctor
):
    visible = SterilizationCycle.objects.restrict(clinic_doctor)
    assert set(visible) == {reprocessed["first"], reprocessed["second"]}


# --- the whole loop and expiry -------------------------------------------------------------------


def test_a_package_goes_round_the_whole_loop_with_one_event_per_step(
    world, make_packages, move, start_cycle, record, cssd_staff, clinic_doctor
):
    package = make_packages(1)
    cycle = start_cycle()
    center_steps = [A.CLEAN, A.PACK]
    for step in center_steps:
        move(package, step)
    move(package, A.STERILIZE, cycle=cycle)
    record(cycle)
    move(package, A.STORE)
    move(package, A.DISPATCH)
    move(package, A.RECEIVE_BY_MEMBER, actor=clinic_doctor)
    move(package, A.USE, actor=clinic_doctor, patient=world["patient"], procedure="清创缝合术")
    move(package, A.COLLECT, actor=clinic_doctor)
    (package,) = move(package, A.RECEIVE)
    hospital, center = world["hospital"], world["center"]
    trace = [
        (e.from_status, e.to_status, e.location, e.cycle, e.actor) for e in package.events.all()
    ]
    assert trace == [
        ("", P.RECEIVED, hospital, None, cssd_staff),
        (P.RECEIVED, P.CLEANED, hospital, None, cssd_staff),
        (P.CLEANED, P.INSPECTED_PACKED, hospital, None, cssd_staff),
        (P.INSPECTED_PACKED, P.STERILIZED, hospital, cycle, cssd_staff),
        (P.STERILIZED, P.STORED, hospital, cycle, cssd_staff),
        (P.STORED, P.DISPATCHED, center, cycle, cssd_staff),
        (P.DISPATCHED, P.RECEIVED_BY_MEMBER, center, cycle, clinic_doctor),
        (P.RECEIVED_BY_MEMBER, P.USED, center, cycle, clinic_doctor),
        (P.USED, P.COLLECTED, center, cycle, clinic_doctor),
        (P.COLLECTED, P.RECEIVED, hospital, cycle, cssd_staff),
    ]
    use = package.events.get(to_status=P.USED)
    assert (use.patient, use.procedure) == (world["patient"], "清创缝合术")
    assert (package.used_for_patient, package.procedure) == (world["patient"], "清创缝合术")
    assert package.sterilized_at is not None and package.used_at == use.at


def test_dispatch_is_refused_after_the_sterile_date_and_allowed_on_it(
    make_packages, sterilized, start_cycle, record, move, cssd_staff
):
    old, last_day = make_packages(2)
    cycle = start_cycle()
    sterilized([old, last_day], cycle)
    record(cycle)
    move([old, last_day], A.STORE)
    today = timezone.localdate()
    Package.objects.filter(pk=old.pk).update(expires_on=today - datetime.timedelta(days=1))
    Package.objects.filter(pk=last_day.pk).update(expires_on=today)
    assert refused(cssd_staff, [old, last_day], A.DISPATCH) == [
        f"{old.barcode}: sterility has expired."
    ]
    assert move([last_day], A.DISPATCH)[0].status == P.DISPATCHED


def test_use_is_refused_after_the_sterile_date_and_the_member_marks_it_expired(
    world, make_packages, at_member, start_cycle, move, clinic_doctor
):
    package = make_packages(1)
    at_member(package, start_cycle())
    Package.objects.filter(pk=package[0].pk).update(
        expires_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert refused(clinic_doctor, package, A.USE, patient=world["patient"]) == [
        f"{package[0].barcode}: sterility has expired."
    ]
    (expired,) = move(package, A.EXPIRE, actor=clinic_doctor)
    assert expired.status == P.EXPIRED
    (collected,) = move(package, A.COLLECT, actor=clinic_doctor)
    assert collected.status == P.COLLECTED


def test_a_package_is_used_only_on_a_patient_the_member_may_see(
    world, make_packages, at_member, start_cycle, clinic_doctor
):
    package = make_packages(1)
    at_member(package, start_cycle())
    with pytest.raises(ValidationError) as error:
        services.packages_move(
            actor=clinic_doctor,
            barcodes=barcodes(package),
            action=A.USE,
            patient=world["other_patient"],
        )
    assert "patient" in error.value.message_dict
    assert statuses(package) == [P.RECEIVED_BY_MEMBER]


# --- who may register, move and see packages -----------------------------------------------------


def test_registering_is_for_the_centers_staff_with_a_new_barcode_of_a_member(
    world, instrument_set, make_packages, clinic_doctor, cssd_staff
):
    make_packages(1)
    with pytest.raises(ActionNotAllowed):
        services.package_register(
            actor=clinic_doctor,
            instrument_set=instrument_set,
            owner=world["center"],
            barcode="NEW1",
        )
    cases = {
        "   ": ("barcode", world["center"]),
        "PKG00001": ("barcode", world["center"]),
        "NEW2": ("owner", world["foreign_center"]),
    }
    for barcode, (key, owner) in cases.items():
        with pytest.raises(ValidationError) as error:
            services.package_register(
                actor=cssd_staff, instrument_set=instrument_set, owner=owner, barcode=barcode
            )
        assert key in error.value.message_dict
    assert Package.objects.count() == 1


def test_a_station_under_a_member_may_own_packages(world, instrument_set, cssd_staff):
    package = services.package_register(
        actor=cssd_staff, instrument_set=instrument_set, owner=world["station"], barcode=" ST1 "
    )
    assert (package.barcode, package.status, package.location) == (
        "ST1",
        P.RECEIVED,
        world["hospital"],
    )


def test_a_member_may_not_take_the_centers_steps(make_packages, clinic_doctor):
    packages = make_packages(2)
    problems = refused(clinic_doctor, packages, A.CLEAN)
    assert problems == [f"{code}: not yours to move." for code in barcodes(packages)]


def test_the_center_may_not_take_the_members_steps(
    make_packages, at_member, start_cycle, cssd_staff, world
):
    packages = make_packages(1)
    at_member(packages, start_cycle())
    assert refused(cssd_staff, packages, A.USE, patient=world["patient"]) == [
        f"{packages[0].barcode}: not yours to move."
    ]


def test_staff_of_another_center_cannot_find_the_packages_to_move(
    make_packages, other_cssd, imaging_staff
):
    packages = make_packages(2)
    for actor in (other_cssd["staff"], imaging_staff):
        assert refused(actor, packages, A.CLEAN) == [
            f"{code}: not found." for code in barcodes(packages)
        ]


def test_the_alliance_office_sees_packages_but_moves_none(make_packages, alliance_office):
    packages = make_packages(2)
    assert Package.objects.restrict(alliance_office).count() == 2
    assert refused(alliance_office, packages, A.CLEAN) == [
        f"{code}: not yours to move." for code in barcodes(packages)
    ]


def test_packages_are_seen_by_their_owner_and_their_center_only(
    world,
    instrument_set,
    make_packages,
    clinic_doctor,
    outsider_clinic_user,
    bureau_viewer,
    cssd_staff,
    other_cssd,
    no_profile_user,
):
    own = make_packages(2)
    theirs = make_packages(1, owner=world["other_center"], prefix="OTH")
    assert set(Package.objects.restrict(clinic_doctor)) == set(own)
    assert set(Package.objects.restrict(outsider_clinic_user)) == set(theirs)
    assert set(Package.objects.restrict(cssd_staff)) == {*own, *theirs}
    for nobody in (bureau_viewer, other_cssd["staff"], no_profile_user):
        assert not Package.objects.restrict(nobody).exists()
    assert refused(outsider_clinic_user, own, A.COLLECT) == [
        f"{code}: not found." for code in barcodes(own)
    ]


def test_a_set_of_another_center_is_registered_only_by_that_centers_staff(
    world, other_cssd, cssd_staff
):
    their_set = InstrumentSet.objects.create(
        center=other_cssd["center"], code="T001", name="换药包", method="steam", shelf_life_days=7
    )
    with pytest.raises(ActionNotAllowed):
        services.package_register(
            actor=cssd_staff, instrument_set=their_set, owner=world["center"], barcode="T1"
        )
    package = services.package_register(
        actor=other_cssd["staff"], instrument_set=their_set, owner=world["center"], barcode="T1"
    )
    assert package.location == world["hospital"]
