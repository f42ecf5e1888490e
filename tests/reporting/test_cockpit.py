"""The cockpit (驾驶舱) of the health bureau and the alliance office: figures computed from the
rows of the user's reach only, counts and names of institutions only (never a patient), a fixed
number of queries, and the API and page closed to every other role."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals.models import Referral
from reporting.models import Job
from reporting.selectors.cockpit import Months, cockpit
from sharedcenters.models import ExamOrder
from tests.referrals.conftest import make_referral, referral_in  # noqa: F401 - fixtures
from tests.sharedcenters.conftest import centers, make_order  # noqa: F401 - fixtures

URL = "/api/v1/cockpit/"
PAGE = "/reporting/cockpit/"
OTHER_ROLES = ["clinic_doctor", "hospital_triage", "center_staff", "no_profile_user"]


def _clone(referral: Referral, number: str, **changes) -> Referral:
    """A copy of the referral with other institutions or times: rows the services could not
    make between institutions without staff."""
    copy = Referral.objects.get(pk=referral.pk)
    copy.pk = None
    copy.number = number
    copy.idempotency_key = ""
    for name, value in changes.items():
        setattr(copy, name, value)
    copy.save()
    return copy


@pytest.fixture
def activity(world, referral_in, make_order):  # noqa: F811 - the imported fixtures
    """This month: one completed and one overdue referral from the centre to the hospital, and
    one between two institutions of the other district; the previous month: one submitted
    referral. Orders: two this month (one green channel, one reported in 2 h with a critical
    value unacknowledged for an hour), one the previous month."""
    months = Months.of(timezone.localdate())
    last_month = months.previous_start + datetime.timedelta(days=1, hours=9)
    completed = referral_in("completed")
    overdue = referral_in("submitted")
    Referral.objects.filter(pk=overdue.pk).update(
        due_at=timezone.now() - datetime.timedelta(hours=1)
    )
    _clone(
        overdue,
        "FAR-1",
        from_institution=world["other_center"],
        to_institution=world["foreign_center"],
        to_department=None,
        from_department=None,
        due_at=timezone.now() - datetime.timedelta(1),
    )
    earlier = referral_in("submitted")
    Referral.objects.filter(pk=earlier.pk).update(
        submitted_at=last_month, due_at=timezone.now() + datetime.timedelta(days=1)
    )
    green = make_order("imaging")
    ExamOrder.objects.filter(pk=green.pk).update(priority_channel=True)
    critical = make_order("lab")
    ordered = timezone.now() - datetime.timedelta(hours=3)
    ExamOrder.objects.filter(pk=critical.pk).update(
        ordered_at=max(ordered, months.current_start),
        reported_at=max(ordered, months.current_start) + datetime.timedelta(hours=2),
        status="reported",
        critical=True,
    )
    old = make_order("ecg")
    ExamOrder.objects.filter(pk=old.pk).update(ordered_at=last_month)
    return {"completed": completed, "overdue": overdue, "earlier": earlier}


def tiles(board) -> dict:
    return {tile.key: tile for tile in board.tiles}


@pytest.mark.django_db
def test_the_bureau_reads_its_district_this_month_against_the_previous(
    activity, bureau_viewer, world
):
    board = cockpit(bureau_viewer)
    figures = tiles(board)
    assert board.reach == "district"
    # The referral between two institutions of the other district is not the bureau's.
    assert (figures["referrals"].current, figures["referrals"].previous) == (2, 1)
    assert figures["referrals"].trend == "up"
    assert str(figures["referral_completion_rate"].current) == "50.0"
    assert str(figures["referral_completion_rate"].previous) == "0.0"
    assert (figures["center_orders"].current, figures["center_orders"].previous) == (2, 1)
    assert figures["green_channel_bookings"].current == 1
    assert figures["green_channel_bookings"].trend == "up"
    assert str(figures["center_median_turnaround_hours"].current) == "2.0"
    assert figures["center_median_turnaround_hours"].previous is None
    assert board.alerts["overdue_referrals"] == 1
    assert board.alerts["critical_values_unacknowledged"] == 1
    ranking = {row["name"]: (row["sent"], row["received"]) for row in board.ranking}
    assert ranking == {world["center"].name: (2, 0), world["hospital"].name: (0, 2)}


@pytest.mark.django_db
def test_the_office_reads_its_alliance_with_its_member_in_the_other_district(
    activity, alliance_office, world
):
    board = cockpit(alliance_office)
    assert board.reach == "alliance"
    # other_center is a member: its referral to the institution outside the alliance counts.
    assert tiles(board)["referrals"].current == 3
    assert board.alerts["overdue_referrals"] == 2
    names = {row["name"] for row in board.ranking}
    assert world["other_center"].name in names
    assert world["foreign_center"].name not in names


@pytest.mark.django_db
def test_capacity_per_thousand_against_the_benchmarks(world, bureau_viewer):
    for institution, beds, staff, population in (
        (world["hospital"], 600, 900, None),
        (world["center"], 0, 100, 100_000),
    ):
        institution.approved_beds = beds
        institution.health_technical_staff = staff
        institution.population_served = population
        institution.save()
    world["station"].approved_beds = 0
    world["station"].health_technical_staff = 0
    world["station"].save()
    figures = tiles(cockpit(bureau_viewer))
    assert str(figures["beds_per_1000"].current) == "6.00"
    assert str(figures["health_workers_per_1000"].current) == "10.00"
    assert [str(b["value"]) for b in figures["beds_per_1000"].benchmarks] == ["6.4", "4.2"]
    assert figures["beds_per_1000"].coverage["population"] == 100_000


@pytest.mark.django_db
def test_members_without_data_and_failed_jobs_are_counted(world, alliance_office):
    Job.objects.create(kind="import", status="failed", requested_by=alliance_office)
    alerts = cockpit(alliance_office).alerts
    assert alerts["members_without_data"] == 3  # hospital, center, other_center
    assert alerts["failed_jobs"] == 1


@pytest.mark.django_db
def test_the_api_answers_snake_case_counts_without_a_patient(activity, api, bureau_viewer, world):
    response = api.as_user(bureau_viewer).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"reach", "month", "previous_month", "today", "tiles", "alerts", "ranking"}
    assert body["alerts"]["overdue_referrals"] == 1
    text = json.dumps(body, ensure_ascii=False)
    for patient in ("patient", "station_patient", "other_patient", "foreign_patient"):
        assert world[patient].name not in text
        assert world[patient].id_number not in text
    assert activity["completed"].number not in text


@pytest.mark.django_db
@pytest.mark.parametrize("persona", OTHER_ROLES, indirect=True)
def test_other_roles_get_403_json(api, persona):
    response = api.as_user(persona).get(URL)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_anonymous_is_refused(api):
    assert api.get(URL).status_code in (401, 403)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["bureau_viewer", "alliance_office"], indirect=True)
def test_the_api_reads_a_fixed_number_of_queries(
    activity,
    api,
    persona,
    referral_in,  # noqa: F811 - the imported fixture
):
    client = api.as_user(persona)
    client.get(URL)  # warm: token, profile caches
    with CaptureQueriesContext(connection) as first:
        assert client.get(URL).status_code == 200
    for _ in range(3):
        referral_in("completed")
    with CaptureQueriesContext(connection) as second:
        assert client.get(URL).status_code == 200
    assert len(first) == len(second)
    # The token with its user, the staff profile, then one query a figure: referrals, orders,
    # capacity, overdue referrals, critical values, members without data, failed jobs, ranking.
    assert len(second) == 10, [q["sql"][:90] for q in second.captured_queries]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["bureau_viewer", "alliance_office"], indirect=True)
def test_the_page_renders_for_the_bureau_and_the_office(activity, browser_client, persona, world):
    browser_client.force_login(persona)
    response = browser_client.get(PAGE)
    assert response.status_code == 200
    text = response.content.decode()
    assert "驾驶舱" in text
    assert 'data-cockpit-url="/api/v1/cockpit/"' in text
    assert 'data-tile="beds_per_1000"' in text
    assert "▲" in text and "上升" in text  # the arrow and its text alternative
    assert world["hospital"].name in text  # the ranking's table fallback
    assert 'id="cockpit-data"' in text and "js/cockpit.js" in text
    assert "<script>" not in text  # no inline script under the Content Security Policy
    for patient in ("patient", "station_patient", "other_patient"):
        assert world[patient].name not in text


@pytest.mark.django_db
def test_only_the_office_gets_links_to_the_lists(activity, browser_client, bureau_viewer):
    browser_client.force_login(bureau_viewer)
    text = browser_client.get(PAGE).content.decode()
    assert "/referrals/incoming/" not in text
    assert "/reporting/imports/" not in text


@pytest.mark.django_db
@pytest.mark.parametrize("persona", OTHER_ROLES, indirect=True)
def test_the_page_is_refused_to_other_roles(browser_client, persona):
    browser_client.force_login(persona)
    assert browser_client.get(PAGE).status_code == 403
