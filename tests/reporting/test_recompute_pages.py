"""`/reporting/recompute/`: the office recomputes a year as a job and follows it."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from alliance.choices import Role
from reporting.choices import JobKind, JobStatus
from reporting.models import IndicatorValue, Job, OutpatientVisit
from tests.kit.factories import AllianceFactory, HospitalFactory, MembershipFactory, staff_user

URL = "/reporting/recompute/"


@pytest.fixture
def visits(world):
    OutpatientVisit.objects.create(
        institution=world["center"],
        record_id="V1",
        visit_date=datetime.date(2021, 6, 1),
        visit_count=5,
        total_cost=Decimal(600),
    )
    return world


@pytest.mark.parametrize(
    "persona", ["clinic_doctor", "hospital_triage", "bureau_viewer", "center_staff"]
)
def test_only_the_office_may_recompute(browser_client, visits, request, persona):
    browser_client.force_login(request.getfixturevalue(persona))
    assert browser_client.get(URL).status_code == 403
    assert browser_client.post(URL, {"year": 2021}).status_code == 403
    assert not Job.objects.exists()


def test_anonymous_goes_to_the_login_page(browser_client):
    response = browser_client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("year", ["1999", str(timezone.localdate().year + 1), "abc", ""])
def test_a_bad_year_is_a_field_error_and_queues_nothing(
    browser_client, visits, alliance_office, year
):
    browser_client.force_login(alliance_office)
    response = browser_client.post(URL, {"year": year})
    assert response.status_code == 200
    assert response.context["form"].errors["year"]
    assert not Job.objects.exists()


def test_an_institution_outside_the_alliance_cannot_be_chosen(
    browser_client, visits, alliance_office
):
    browser_client.force_login(alliance_office)
    response = browser_client.post(URL, {"year": 2021, "institution": visits["foreign_center"].pk})
    assert response.context["form"].errors["institution"]
    assert not Job.objects.exists()


def test_the_office_recomputes_a_year_and_follows_the_job(
    browser_client, visits, alliance_office, django_capture_on_commit_callbacks
):
    browser_client.force_login(alliance_office)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = browser_client.post(URL, {"year": 2021, "institution": visits["center"].pk})
    assert len(queued) == 1  # the job is queued after commit, once
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{URL}{job.pk}/"
    # Celery runs in-process in tests: the job has finished by the time the page is read.
    job.refresh_from_db()
    assert (job.kind, job.status, job.year, job.institution) == (
        JobKind.RECOMPUTE,
        JobStatus.DONE,
        2021,
        visits["center"],
    )
    assert (
        job.result["values"] == IndicatorValue.objects.filter(period__startswith="2021").count() > 0
    )
    assert IndicatorValue.objects.get(
        indicator="avg_outpatient_cost", period="2021", institution=visits["center"]
    ).value == Decimal(120)
    page = browser_client.get(response["Location"])
    assert page.status_code == 200 and b"hx-trigger" not in page.content
    listing = browser_client.get(URL)
    assert listing.status_code == 200 and job in listing.context["jobs"]


def test_a_running_job_polls_and_another_alliance_cannot_see_it(
    browser_client, visits, alliance_office, outsider_clinic_user
):
    job = Job.objects.create(
        kind=JobKind.RECOMPUTE,
        year=2021,
        status=JobStatus.RUNNING,
        requested_by=alliance_office,
        progress_done=1,
        progress_total=4,
    )
    browser_client.force_login(alliance_office)
    page = browser_client.get(f"{URL}{job.pk}/")
    assert b'hx-trigger="every 2s"' in page.content and b'value="1" max="4"' in page.content
    partial = browser_client.get(f"{URL}{job.pk}/", HTTP_HX_REQUEST="true")
    assert partial.content.lstrip().startswith(b'<div id="recompute-status"')

    elsewhere = HospitalFactory()
    MembershipFactory(alliance=AllianceFactory(lead_institution=elsewhere), institution=elsewhere)
    other_office = staff_user(Role.ALLIANCE_OFFICE, elsewhere, username="other_office")
    browser_client.force_login(other_office)
    assert browser_client.get(f"{URL}{job.pk}/").status_code == 404
    assert job not in browser_client.get(URL).context["jobs"]


def test_the_list_runs_a_fixed_number_of_queries(
    browser_client, visits, alliance_office, django_assert_num_queries
):
    browser_client.force_login(alliance_office)
    Job.objects.create(kind=JobKind.RECOMPUTE, year=2020, requested_by=alliance_office)
    browser_client.get(URL)
    with django_assert_num_queries(count := len_queries(browser_client)):
        browser_client.get(URL)
    for year in (2018, 2019, 2021):
        Job.objects.create(
            kind=JobKind.RECOMPUTE,
            year=year,
            requested_by=alliance_office,
            institution=visits["center"],
        )
    with django_assert_num_queries(count):
        browser_client.get(URL)


def len_queries(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        client.get(URL)
    return len(context.captured_queries)
