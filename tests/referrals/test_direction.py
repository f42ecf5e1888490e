"""A referral's direction comes from the two institutions, never from the client (issue 13,
items 4 and 5).

- up / down: between tiers (primary → secondary → tertiary and back);
- lateral: between two institutions of one tier that are not in one centre's tree, e.g. an
  exam referral from one community centre to another, or between two secondary hospitals;
- internal: within one centre's tree (the centre, its sub-centres and stations): a station
  sending a patient to its own centre is an internal transfer, recorded as such and never
  counted as an upward or downward referral.

A client may still send `direction`; a value that disagrees is a 400 naming it, on create and
on update. The page form offers no choice: it shows each target's direction.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from alliance.choices import InstitutionKind, Role
from referrals import services
from referrals.choices import Action, Status
from referrals.models import Referral, ReferralEvent
from tests.kit.factories import (
    DepartmentFactory,
    InstitutionFactory,
    MembershipFactory,
    StationFactory,
    staff_user,
)
from tests.referrals.conftest import payload

pytestmark = pytest.mark.django_db

URL = "/api/v1/referrals/"


@pytest.fixture
def tree(world):
    """The world plus a sub-centre with a station under the world's centre, a station of the
    other centre and two secondary hospitals of the alliance."""
    sub_center = InstitutionFactory(
        name="泥城镇彭镇社区卫生服务分中心",
        kind=InstitutionKind.SUB_CENTER,
        parent=world["center"],
        district=world["pudong"],
    )
    secondary = InstitutionFactory(
        name="嵊泗县中心医院", kind=InstitutionKind.SECONDARY_HOSPITAL, district=world["pudong"]
    )
    other_secondary = InstitutionFactory(
        name="岱山县中心医院", kind=InstitutionKind.SECONDARY_HOSPITAL, district=world["pudong"]
    )
    for member in (secondary, other_secondary):
        MembershipFactory(alliance=world["alliance"], institution=member)
    return world | {
        "sub_center": sub_center,
        "sub_station": StationFactory(
            name="泥城镇海关村卫生室", parent=sub_center, district=world["pudong"]
        ),
        "other_station": StationFactory(
            name="四团镇平安村卫生室", parent=world["other_center"], district=world["fengxian"]
        ),
        "secondary": secondary,
        "other_secondary": other_secondary,
    }


DERIVED = [
    ("center", "hospital", "up"),
    ("station", "hospital", "up"),
    ("sub_station", "hospital", "up"),
    ("center", "secondary", "up"),
    ("secondary", "hospital", "up"),
    ("hospital", "center", "down"),
    ("hospital", "station", "down"),
    ("hospital", "secondary", "down"),
    ("secondary", "sub_center", "down"),
    ("center", "other_center", "lateral"),
    ("station", "other_station", "lateral"),
    ("sub_station", "other_center", "lateral"),
    ("secondary", "other_secondary", "lateral"),
    ("center", "station", "internal"),
    ("station", "center", "internal"),
    ("sub_center", "center", "internal"),
    ("center", "sub_station", "internal"),
    ("sub_station", "station", "internal"),
    ("sub_station", "sub_center", "internal"),
]


@pytest.mark.parametrize(("source", "target", "expected"), DERIVED)
def test_the_direction_follows_from_the_tiers_and_the_centres_tree(tree, source, target, expected):
    assert services.direction_between(tree[source], tree[target]) == expected


# --- the service -------------------------------------------------------------------------------


def create(actor, world, **overrides):
    data = (
        payload(world)
        | {
            "patient": world["patient"],
            "to_institution": world["hospital"],
            "to_department": world["cardiology"],
        }
        | overrides
    )
    return services.referral_create(actor=actor, **data)[0]


@pytest.mark.parametrize("claimed", ["down", "lateral", "internal"])
def test_a_claimed_direction_that_disagrees_is_refused_and_writes_nothing(
    world, clinic_doctor, claimed
):
    with pytest.raises(ValidationError) as error:
        create(clinic_doctor, world, direction=claimed)

    assert list(error.value.message_dict) == ["direction"]
    assert not Referral.objects.exists() and not ReferralEvent.objects.exists()


def test_a_claimed_direction_that_agrees_is_accepted(world, clinic_doctor):
    assert create(clinic_doctor, world, direction="up").direction == "up"


def test_an_update_refuses_a_direction_that_disagrees_and_derives_it_again(world, clinic_doctor):
    referral = create(clinic_doctor, world)

    with pytest.raises(ValidationError) as error:
        services.referral_update(actor=clinic_doctor, referral=referral, direction="down")
    assert list(error.value.message_dict) == ["direction"]
    referral.refresh_from_db()
    assert referral.direction == "up" and referral.events.count() == 1

    moved = services.referral_update(
        actor=clinic_doctor,
        referral=referral,
        to_institution=world["other_center"],
        to_department=None,
        direction="lateral",
    )
    assert moved.direction == "lateral"


@pytest.fixture
def station_doctor(world):
    return staff_user(Role.COMMUNITY_STAFF, world["station"], username="station_doctor")


def test_a_station_refers_to_its_own_centre_as_an_internal_transfer(
    world, station_doctor, clinic_doctor
):
    referral = create(
        station_doctor,
        world,
        patient=world["station_patient"],
        to_institution=world["center"],
        to_department=None,
        submit=True,
    )

    assert (referral.direction, referral.status) == ("internal", Status.SUBMITTED)
    # The centre answers for itself; the station that wrote it does not.
    assert Action.ACCEPT in services.allowed_actions(clinic_doctor, referral)
    assert services.allowed_actions(station_doctor, referral) == [Action.CANCEL]


def test_a_centre_referring_to_its_station_is_internal_and_never_referred_back(
    world, clinic_doctor, station_doctor
):
    referral = create(
        clinic_doctor, world, to_institution=world["station"], to_department=None, submit=True
    )
    assert referral.direction == "internal"
    for step in (services.referral_accept, services.referral_arrive):
        referral = step(actor=station_doctor, referral=referral)
    referral = services.referral_complete(
        actor=station_doctor, referral=referral, outcome="outpatient", summary="已随访"
    )

    assert Action.REFER_BACK not in services.allowed_actions(station_doctor, referral)


def test_a_station_may_still_refer_up_to_the_hospital(world, station_doctor):
    referral = create(station_doctor, world, patient=world["station_patient"])

    assert referral.direction == "up"


# --- the API -----------------------------------------------------------------------------------


@pytest.fixture
def sender(api, clinic_doctor):
    return api.as_user(clinic_doctor)


@pytest.mark.parametrize("claimed", ["down", "lateral", "internal"])
def test_posting_a_direction_that_disagrees_is_a_400_naming_direction(sender, world, claimed):
    """`"direction":"down"` on a community → tertiary referral was stored as downward."""
    response = sender.post(URL, payload(world, direction=claimed), format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body["errors"]) == ["direction"], body
    assert not Referral.objects.exists()


def test_posting_the_derived_direction_or_none_is_accepted(sender, world):
    given = sender.post(URL, payload(world, direction="up"), format="json")
    omitted = sender.post(URL, payload(world), format="json")

    assert (given.status_code, omitted.status_code) == (201, 201), given.content
    assert given.json()["direction"] == omitted.json()["direction"] == "up"


def test_an_exam_referral_between_two_centres_is_lateral(sender, world):
    response = sender.post(
        URL,
        payload(
            world,
            to_institution=world["other_center"].pk,
            to_department=None,
            service="exam",
            exam_type="cardiac_ultrasound",
            direction="lateral",
        ),
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["service"], body["exam_type"], body["direction"]) == (
        "exam",
        "cardiac_ultrasound",
        "lateral",
    )


def test_patching_a_direction_that_disagrees_is_a_400_and_changes_nothing(
    sender, world, clinic_doctor
):
    referral = create(clinic_doctor, world)

    response = sender.patch(
        f"{URL}{referral.pk}/", {"direction": "down", "reason": "改"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == ["direction"]
    referral.refresh_from_db()
    assert (referral.direction, referral.reason, referral.events.count()) == (
        "up",
        payload(world)["reason"],
        1,
    )


def test_patching_the_target_derives_the_direction_again(sender, world, clinic_doctor):
    referral = create(clinic_doctor, world)

    response = sender.patch(
        f"{URL}{referral.pk}/",
        {"to_institution": world["other_center"].pk, "to_department": None, "direction": "lateral"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["direction"] == "lateral"


def test_a_station_claiming_up_to_its_own_centre_is_a_400_and_internal_without(
    api, world, station_doctor
):
    client = api.as_user(station_doctor)
    data = payload(
        world,
        patient=world["station_patient"].pk,
        to_institution=world["center"].pk,
        to_department=None,
    )

    claimed = client.post(URL, data | {"direction": "up"}, format="json")
    derived = client.post(URL, data, format="json")

    assert claimed.status_code == 400 and list(claimed.json()["errors"]) == ["direction"]
    assert derived.status_code == 201, derived.content
    assert derived.json()["direction"] == "internal"


def test_the_list_filters_internal_transfers(api, world, clinic_doctor):
    internal = create(clinic_doctor, world, to_institution=world["station"], to_department=None)
    create(clinic_doctor, world)

    response = api.as_user(clinic_doctor).get(URL, {"direction": "internal"})

    assert [row["number"] for row in response.json()["results"]] == [internal.number]


# --- the page form -----------------------------------------------------------------------------


def test_the_new_referral_form_shows_each_targets_direction_and_offers_no_choice(
    world, clinic_doctor
):
    DepartmentFactory(institution=world["station"], name="全科诊室")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(clinic_doctor)

    response = client.get("/referrals/new/")

    form = response.context["form"]
    assert "direction" not in form.fields
    label = form.fields["to_institution"].label_from_instance
    assert label(world["hospital"]) == "临港院区 · 上转"
    assert label(world["other_center"]).endswith(" · 平转")
    assert label(world["station"]).endswith(" · 内部转诊")
    page = response.content.decode()
    assert "临港院区 · 上转" in page and "内部转诊" in page


def test_a_direction_posted_to_the_page_is_ignored_for_the_derived_one(world, clinic_doctor):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(clinic_doctor)
    data = {
        "patient": world["patient"].pk,
        "to_institution": world["hospital"].pk,
        "urgency": "routine",
        "service": "outpatient",
        "diagnosis_code": "I10",
        "diagnosis_text": "高血压",
        "reason": "血压控制不佳",
        "consent": "on",
        "direction": "down",
    }

    client.post("/referrals/new/", data)

    assert Referral.objects.get().direction == "up"


# --- the demo and the data migration -----------------------------------------------------------


def test_every_demo_referral_has_the_derived_direction(db):
    from alliance.demo import load_demo as load_alliance
    from referrals.demo import load_demo

    load_alliance()
    load_demo()

    referrals = Referral.objects.select_related(
        "from_institution__parent__parent", "to_institution__parent__parent"
    )
    assert referrals.count() > 100
    for referral in referrals:
        derived = services.direction_between(referral.from_institution, referral.to_institution)
        assert referral.direction == derived, referral.number


BEFORE = ("referrals", "0006_history")


def migrate_to(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_derives_every_stored_direction(transactional_db, world, clinic_doctor):
    """Rows stored with the client's word (or before `internal` existed) get the derived one."""
    claimed_down = create(clinic_doctor, world)
    to_station = create(clinic_doctor, world, to_institution=world["station"], to_department=None)
    to_center = create(
        clinic_doctor, world, to_institution=world["other_center"], to_department=None
    )
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate_to([BEFORE])
    try:
        with connection.cursor() as cursor:
            for referral, stored in ((claimed_down, "down"), (to_station, "up"), (to_center, "up")):
                cursor.execute(
                    "UPDATE referrals_referral SET direction = %s WHERE id = %s",
                    [stored, referral.pk],
                )
        migrate_to(latest)

        stored = dict(Referral.objects.values_list("pk", "direction"))
        assert stored == {
            claimed_down.pk: "up",
            to_station.pk: "internal",
            to_center.pk: "lateral",
        }
    finally:
        migrate_to(latest)
