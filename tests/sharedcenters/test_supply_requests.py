"""Supply requests (申领): a member asks the sterilization center for packages of some sets; the
center dispatches the member's own stored packages against the request, and the dispatch that
completes the last line fulfills it. What a line has received is counted from the dispatch
events, never stored. Refusals first."""

import datetime

import pytest
import rules
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from alliance.choices import Role
from core.errors import ActionNotAllowed, IllegalTransition
from sharedcenters import services
from sharedcenters.choices import PackageStatus, SupplyRequestStatus
from sharedcenters.models import (
    InstrumentSet,
    Package,
    PackageEvent,
    SharedCenter,
    SupplyRequest,
    SupplyRequestLine,
)
from tests.conftest import require_postgres
from tests.kit.factories import DepartmentFactory, staff_user
from tests.sharedcenters.test_concurrency import race

pytestmark = pytest.mark.django_db

S = SupplyRequestStatus


def fresh(supply_request) -> SupplyRequest:
    return SupplyRequest.objects.with_totals().get(pk=supply_request.pk)


def dispatched_per_set(supply_request) -> dict[str, tuple[int, int]]:
    """{set code: (dispatched, remaining)}, as the pages and the API compute them."""
    lines = SupplyRequestLine.objects.with_dispatched().filter(request=supply_request)
    return {line.instrument_set.code: (line.dispatched, line.remaining) for line in lines}


def dispatch(actor, packages, supply_request, **extra):
    return services.packages_move(
        actor=actor,
        barcodes=[p.barcode for p in packages],
        action="dispatch",
        supply_request=supply_request,
        **extra,
    )


def refused_dispatch(actor, packages, supply_request) -> list[str]:
    """The per-barcode problems (English) after checking that nothing moved."""
    before = dict(Package.objects.values_list("barcode", "status"))
    events = PackageEvent.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as error:
        dispatch(actor, packages, supply_request)
    assert dict(Package.objects.values_list("barcode", "status")) == before
    assert PackageEvent.objects.count() == events
    return error.value.message_dict["barcodes"]


@pytest.fixture
def other_cssd(world):
    """A second sterilization center of the alliance, with its own staff and set."""
    center = SharedCenter.objects.create(
        name="第二消毒供应中心",
        kind="sterilization",
        institution=world["hospital"],
        alliance=world["alliance"],
        phone="021-68180002",
    )
    staff = staff_user(Role.CENTER_STAFF, world["hospital"], username="other_cssd_staff")
    center.staff.add(staff)
    kit = InstrumentSet.objects.create(
        center=center, code="S001", name="清创缝合包", method="steam", shelf_life_days=14
    )
    return {"center": center, "staff": staff, "set": kit}


@pytest.fixture
def station_doctor(world):
    return staff_user(Role.COMMUNITY_STAFF, world["station"], username="station_doctor")


# --- Requesting: refusals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona",
    [
        "cssd_staff",
        "center_staff",
        "alliance_office",
        "bureau_viewer",
        "no_profile_user",
        "superuser",
    ],
)
def test_only_clinical_staff_of_a_member_request_packages(
    request, persona, centers, instrument_set, cssd_staff
):
    with pytest.raises(ActionNotAllowed):
        services.supply_request_create(
            actor=request.getfixturevalue(persona),
            center=centers["cssd"],
            lines=[(instrument_set, 1)],
        )
    assert not SupplyRequest.objects.exists()


def bad_lines(kit, other_cssd_set):
    return {
        "no line": [],
        "zero": [(kit, 0)],
        "negative": [(kit, -1)],
        "too many": [(kit, 201)],
        "not a number": [(kit, "3")],
        "a set twice": [(kit, 1), (kit, 2)],
        "another center's set": [(other_cssd_set, 1)],
        "a quantity of True": [(kit, True)],
    }


@pytest.mark.parametrize(
    "case",
    [
        "no line",
        "zero",
        "negative",
        "too many",
        "not a number",
        "a set twice",
        "another center's set",
        "a quantity of True",
    ],
)
def test_bad_lines_are_a_field_error_and_nothing_is_created(
    clinic_doctor, centers, instrument_set, other_cssd, case
):
    lines = bad_lines(instrument_set, other_cssd["set"])[case]
    with pytest.raises(ValidationError) as error:
        services.supply_request_create(actor=clinic_doctor, center=centers["cssd"], lines=lines)
    assert list(error.value.message_dict) == ["lines"]
    assert not SupplyRequest.objects.exists() and not SupplyRequestLine.objects.exists()


def test_two_hundred_of_a_set_is_the_most_one_line_asks_for(make_supply_request, instrument_set):
    assert make_supply_request([(instrument_set, 200)]).lines.get().quantity == 200


def test_the_center_must_be_a_sterilization_center_of_the_requesters_alliance(
    clinic_doctor, centers, instrument_set, world
):
    with pytest.raises(ValidationError) as error:
        services.supply_request_create(
            actor=clinic_doctor, center=centers["lab"], lines=[(instrument_set, 1)]
        )
    assert "center" in error.value.message_dict

    outsider = staff_user(Role.COMMUNITY_STAFF, world["foreign_center"], username="foreigner")
    with pytest.raises(ValidationError) as error:
        services.supply_request_create(
            actor=outsider, center=centers["cssd"], lines=[(instrument_set, 1)]
        )
    assert "center" in error.value.message_dict
    assert not SupplyRequest.objects.exists()


def test_a_closed_center_takes_no_requests(clinic_doctor, centers, instrument_set):
    SharedCenter.objects.filter(pk=centers["cssd"].pk).update(is_active=False)
    centers["cssd"].refresh_from_db()
    with pytest.raises(ValidationError) as error:
        services.supply_request_create(
            actor=clinic_doctor, center=centers["cssd"], lines=[(instrument_set, 1)]
        )
    assert "center" in error.value.message_dict


def test_a_department_of_another_institution_or_a_past_date_is_a_field_error(
    make_supply_request, world
):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        make_supply_request(department=world["cardiology"], needed_by=yesterday)
    assert set(error.value.message_dict) == {"department", "needed_by"}


def test_the_database_refuses_a_set_twice_or_a_quantity_out_of_range(make_supply_request):
    supply_request = make_supply_request()
    line = supply_request.lines.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        SupplyRequestLine.objects.create(
            request=supply_request, instrument_set=line.instrument_set, quantity=1
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        SupplyRequestLine.objects.filter(pk=line.pk).update(quantity=201)


# --- Requesting: the happy path -----------------------------------------------------------------


def test_a_member_requests_packages_and_gets_a_numbered_request(
    make_supply_request, instrument_set, dressing_set, clinic_doctor, world
):
    needed = timezone.localdate() + datetime.timedelta(days=2)
    supply_request = make_supply_request(
        [(instrument_set, 3), (dressing_set, 5)], needed_by=needed, note="  门诊清创用  "
    )

    day = f"{timezone.localdate():%Y%m%d}"
    assert supply_request.number == f"SQ-{day}-0001"
    assert supply_request.status == S.SUBMITTED
    assert supply_request.requesting_institution == world["center"]
    assert supply_request.requested_by == clinic_doctor
    assert (supply_request.needed_by, supply_request.note) == (needed, "门诊清创用")
    assert dispatched_per_set(supply_request) == {"S001": (0, 3), "S002": (0, 5)}
    assert (fresh(supply_request).requested, fresh(supply_request).dispatched) == (8, 0)


def test_request_numbers_count_up_per_day_beside_the_order_numbers(make_supply_request, make_order):
    day = f"{timezone.localdate():%Y%m%d}"
    first = make_supply_request()
    order = make_order("lab")
    second = make_supply_request()
    assert (first.number, second.number) == (f"SQ-{day}-0001", f"SQ-{day}-0002")
    assert order.number == f"JY-{day}-0001"


def test_the_department_defaults_to_the_requesters_own(make_supply_request, hospital_triage, world):
    supply_request = make_supply_request(actor=hospital_triage)
    assert supply_request.department == world["cardiology"]
    assert supply_request.requesting_institution == world["hospital"]


def test_a_department_of_the_requesters_institution_may_be_named(make_supply_request, world):
    dressing_room = DepartmentFactory(institution=world["center"], name="换药室")
    assert make_supply_request(department=dressing_room).department == dressing_room


def test_a_station_under_a_member_may_request(make_supply_request, station_doctor, world):
    supply_request = make_supply_request(actor=station_doctor)
    assert supply_request.requesting_institution == world["station"]


# --- Dispatching against a request: refusals ----------------------------------------------------


def test_a_package_of_another_institution_is_refused_naming_it(
    make_supply_request, stored_packages, cssd_staff, world
):
    supply_request = make_supply_request()
    mine = stored_packages(1)
    theirs = stored_packages(1, owner=world["other_center"], prefix="OTH")

    problems = refused_dispatch(cssd_staff, [*mine, *theirs], supply_request)

    assert problems == [
        f"OTH00001 belongs to {world['other_center'].display_name}, not to the "
        "requesting institution."
    ]
    assert fresh(supply_request).dispatched == 0


def test_a_package_of_a_set_not_on_the_request_is_refused(
    make_supply_request, stored_packages, cssd_staff, dressing_set
):
    supply_request = make_supply_request()
    dressing = stored_packages(1, kit=dressing_set, prefix="DRS")

    problems = refused_dispatch(cssd_staff, dressing, supply_request)

    assert problems == [f"DRS00001: 换药包 is not on request {supply_request.number}."]


def test_more_packages_than_requested_are_refused_naming_the_extra_ones(
    make_supply_request, stored_packages, cssd_staff
):
    supply_request = make_supply_request()  # two of the set
    packages = stored_packages(4)

    problems = refused_dispatch(cssd_staff, packages, supply_request)

    assert problems == [
        "STK00003: 清创缝合包 is already complete (2 requested).",
        "STK00004: 清创缝合包 is already complete (2 requested).",
    ]
    assert fresh(supply_request).status == S.SUBMITTED


def test_a_line_already_complete_takes_no_more_in_a_later_batch(
    make_supply_request, stored_packages, cssd_staff, instrument_set, dressing_set
):
    supply_request = make_supply_request([(instrument_set, 1), (dressing_set, 1)])
    packages = stored_packages(2)
    dispatch(cssd_staff, packages[:1], supply_request)

    problems = refused_dispatch(cssd_staff, packages[1:], supply_request)

    assert problems == ["STK00002: 清创缝合包 is already complete (1 requested)."]
    assert dispatched_per_set(supply_request) == {"S001": (1, 0), "S002": (0, 1)}


def test_every_package_must_still_be_dispatchable(
    make_supply_request, stored_packages, make_packages, cssd_staff
):
    supply_request = make_supply_request()
    [on_shelf] = stored_packages(1)
    [dirty] = make_packages(1)

    problems = refused_dispatch(cssd_staff, [on_shelf, dirty], supply_request)

    assert problems == [f"{dirty.barcode} is Received at the center."]


def test_only_a_dispatch_serves_a_request(make_supply_request, make_packages, cssd_staff):
    supply_request = make_supply_request()
    packages = make_packages(1)
    with pytest.raises(ValidationError) as error:
        services.packages_move(
            actor=cssd_staff,
            barcodes=[packages[0].barcode],
            action="clean",
            supply_request=supply_request,
        )
    assert list(error.value.message_dict) == ["supply_request"]
    assert Package.objects.get(pk=packages[0].pk).status == PackageStatus.RECEIVED


@pytest.mark.parametrize("state", ["fulfilled", "cancelled"])
def test_a_closed_request_takes_no_dispatch(
    make_supply_request, stored_packages, cssd_staff, clinic_doctor, state
):
    supply_request = make_supply_request()
    packages = stored_packages(4)
    if state == "fulfilled":
        dispatch(cssd_staff, packages[:2], supply_request)
    else:
        services.supply_request_cancel(actor=clinic_doctor, request=supply_request)

    with pytest.raises(IllegalTransition):
        dispatch(cssd_staff, packages[2:3], supply_request)
    assert Package.objects.get(pk=packages[2].pk).status == PackageStatus.STORED


@pytest.mark.parametrize("persona", ["clinic_doctor", "center_staff", "other_cssd_staff"])
def test_only_the_centers_staff_dispatch_against_its_requests(
    make_supply_request, stored_packages, request, persona, other_cssd
):
    supply_request = make_supply_request()
    packages = stored_packages(1)
    actor = (
        other_cssd["staff"] if persona == "other_cssd_staff" else request.getfixturevalue(persona)
    )

    with pytest.raises(ActionNotAllowed):
        dispatch(actor, packages, supply_request)
    assert Package.objects.get(pk=packages[0].pk).status == PackageStatus.STORED


# --- Dispatching: the happy path ----------------------------------------------------------------


def test_dispatches_count_toward_the_request_until_it_is_fulfilled(
    make_supply_request, stored_packages, cssd_staff, instrument_set, dressing_set
):
    supply_request = make_supply_request([(instrument_set, 3), (dressing_set, 1)])
    debridement = stored_packages(3)
    [dressing] = stored_packages(1, kit=dressing_set, prefix="DRS")

    moved = dispatch(cssd_staff, debridement[:2], supply_request, note="第一批")

    assert {p.status for p in moved} == {PackageStatus.DISPATCHED}
    assert dispatched_per_set(supply_request) == {"S001": (2, 1), "S002": (0, 1)}
    events = PackageEvent.objects.filter(to_status=PackageStatus.DISPATCHED)
    assert set(events.values_list("supply_request_id", "note")) == {(supply_request.pk, "第一批")}
    assert fresh(supply_request).status == S.SUBMITTED

    dispatch(cssd_staff, [debridement[2], dressing], supply_request)

    done = fresh(supply_request)
    assert done.status == S.FULFILLED and done.fulfilled_at is not None
    assert (done.requested, done.dispatched) == (4, 4)
    assert dispatched_per_set(supply_request) == {"S001": (3, 0), "S002": (1, 0)}


def test_the_member_receives_the_packages_as_every_delivery(
    make_supply_request, stored_packages, cssd_staff, clinic_doctor, world
):
    supply_request = make_supply_request()
    packages = stored_packages(2)
    dispatch(cssd_staff, packages, supply_request)

    received = services.packages_move(
        actor=clinic_doctor, barcodes=[p.barcode for p in packages], action="receive_by_member"
    )

    assert {(p.status, p.location_id) for p in received} == {
        (PackageStatus.RECEIVED_BY_MEMBER, world["center"].pk)
    }
    # Receiving is not a dispatch: the request's count stays.
    assert fresh(supply_request).dispatched == 2


def test_a_dispatch_without_a_request_does_not_count_toward_one(
    make_supply_request, stored_packages, cssd_staff
):
    supply_request = make_supply_request()
    packages = stored_packages(2)
    services.packages_move(
        actor=cssd_staff, barcodes=[p.barcode for p in packages], action="dispatch"
    )
    assert fresh(supply_request).dispatched == 0
    assert not PackageEvent.objects.filter(supply_request__isnull=False).exists()


def test_the_superuser_may_dispatch_against_a_request(
    make_supply_request, stored_packages, superuser
):
    supply_request = make_supply_request()
    dispatch(superuser, stored_packages(2), supply_request)
    assert fresh(supply_request).status == S.FULFILLED


# --- Cancelling ---------------------------------------------------------------------------------


def test_the_requester_cancels_an_untouched_request(make_supply_request, clinic_doctor):
    supply_request = make_supply_request()

    cancelled = services.supply_request_cancel(actor=clinic_doctor, request=supply_request)

    assert cancelled.status == S.CANCELLED
    assert cancelled.cancelled_by == clinic_doctor and cancelled.cancelled_at is not None
    assert fresh(supply_request).status == S.CANCELLED


def test_a_colleague_or_the_centre_over_a_station_may_cancel_too(
    make_supply_request, clinic_doctor, station_doctor, world
):
    colleague = staff_user(Role.COMMUNITY_STAFF, world["center"], username="colleague")
    first = make_supply_request()
    services.supply_request_cancel(actor=colleague, request=first)
    from_station = make_supply_request(actor=station_doctor)
    services.supply_request_cancel(actor=clinic_doctor, request=from_station)
    assert set(SupplyRequest.objects.values_list("status", flat=True)) == {S.CANCELLED}


@pytest.mark.parametrize(
    "persona",
    [
        "outsider_clinic_user",
        "cssd_staff",
        "alliance_office",
        "bureau_viewer",
        "no_profile_user",
        "station_doctor",
    ],
)
def test_nobody_else_cancels_a_request(make_supply_request, request, persona):
    supply_request = make_supply_request()
    with pytest.raises(ActionNotAllowed):
        services.supply_request_cancel(
            actor=request.getfixturevalue(persona), request=supply_request
        )
    assert fresh(supply_request).status == S.SUBMITTED


def test_a_request_partly_dispatched_cannot_be_cancelled(
    make_supply_request, stored_packages, cssd_staff, clinic_doctor
):
    supply_request = make_supply_request()
    dispatch(cssd_staff, stored_packages(1), supply_request)

    with pytest.raises(IllegalTransition):
        services.supply_request_cancel(actor=clinic_doctor, request=supply_request)
    assert fresh(supply_request).status == S.SUBMITTED


@pytest.mark.parametrize("state", ["fulfilled", "cancelled"])
def test_a_closed_request_cannot_be_cancelled(
    make_supply_request, stored_packages, cssd_staff, clinic_doctor, state
):
    supply_request = make_supply_request()
    if state == "fulfilled":
        dispatch(cssd_staff, stored_packages(2), supply_request)
    else:
        services.supply_request_cancel(actor=clinic_doctor, request=supply_request)

    with pytest.raises(IllegalTransition):
        services.supply_request_cancel(actor=clinic_doctor, request=supply_request)
    assert fresh(supply_request).status == state


# --- Who sees which request ---------------------------------------------------------------------


@pytest.fixture
def two_requests(make_supply_request, outsider_clinic_user):
    """One from the world's centre, one from the third institution (the other centre)."""
    return {
        "mine": make_supply_request(),
        "theirs": make_supply_request(actor=outsider_clinic_user),
    }


@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("clinic_doctor", {"mine"}),
        ("outsider_clinic_user", {"theirs"}),
        ("hospital_triage", set()),
        ("cssd_staff", {"mine", "theirs"}),
        ("center_staff", set()),  # the lab's staff: another center
        ("alliance_office", {"mine", "theirs"}),
        ("bureau_viewer", set()),
        ("no_profile_user", set()),
        ("superuser", {"mine", "theirs"}),
    ],
)
def test_each_persona_sees_its_own_requests(two_requests, request, persona, sees):
    user = request.getfixturevalue(persona)
    visible = set(SupplyRequest.objects.restrict(user).values_list("pk", flat=True))
    assert visible == {two_requests[name].pk for name in sees}


def test_the_centre_over_a_station_sees_the_stations_requests_and_not_the_reverse(
    make_supply_request, clinic_doctor, station_doctor
):
    from_station = make_supply_request(actor=station_doctor)
    from_centre = make_supply_request()
    assert set(SupplyRequest.objects.restrict(clinic_doctor)) == {from_station, from_centre}
    assert set(SupplyRequest.objects.restrict(station_doctor)) == {from_station}


def test_another_centers_staff_and_another_alliances_office_see_nothing(
    two_requests, other_cssd, world
):
    from tests.kit.factories import AllianceFactory, MembershipFactory

    elsewhere = AllianceFactory(name="奉贤医联体", lead_institution=world["foreign_center"])
    MembershipFactory(alliance=elsewhere, institution=world["foreign_center"])
    office = staff_user(Role.ALLIANCE_OFFICE, world["foreign_center"], username="other_office")
    assert not SupplyRequest.objects.restrict(other_cssd["staff"]).exists()
    assert not SupplyRequest.objects.restrict(office).exists()


@pytest.mark.parametrize(
    ("persona", "view", "add", "change"),
    [
        ("clinic_doctor", True, True, True),
        ("hospital_triage", True, True, True),
        ("cssd_staff", True, False, True),
        ("alliance_office", True, False, False),
        ("bureau_viewer", False, False, False),
        ("no_profile_user", False, False, False),
        ("superuser", True, False, True),
    ],
)
def test_the_role_rules(request, persona, view, add, change):
    """The rules themselves (Django's backend also grants the superuser every permission; the
    service still refuses it a request, as it has no institution)."""
    user = request.getfixturevalue(persona)
    perms = ("view", "add", "change")
    assert [rules.has_perm(f"sharedcenters.{p}_supplyrequest", user) for p in perms] == [
        view,
        add,
        change,
    ]


# --- Two dispatches at once (PostgreSQL) --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_dispatches_at_once_never_overfill_a_request(
    make_supply_request, stored_packages, cssd_staff, superuser, instrument_set
):
    require_postgres()
    supply_request = make_supply_request([(instrument_set, 3)])
    packages = stored_packages(4)

    results = race(
        lambda: dispatch(cssd_staff, packages[:2], supply_request),
        lambda: dispatch(superuser, packages[2:], supply_request),
    )

    moved = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(moved), len(refused)) == (1, 1), results
    assert fresh(supply_request).dispatched == 2
    assert fresh(supply_request).status == S.SUBMITTED
