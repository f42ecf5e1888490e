"""Issue 13, item 8: a job whose worker died is found by its heartbeat, marked failed with the
reason, and re-run by the office; a task delivered twice does the work once."""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from reporting import tasks
from reporting.choices import FactKind, JobKind, JobStatus
from reporting.models import Job, OutpatientVisit
from reporting.services.jobs import jobs_sweep_stale

from .conftest import csv_bytes, visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def import_job(world, alliance_office, media):
    content = csv_bytes("visits", [visit(world["center"], "V1"), visit(world["station"], "V2")])
    job = Job(
        kind=JobKind.IMPORT,
        fact_kind=FactKind.VISITS,
        requested_by=alliance_office,
        file_name="visits.csv",
        result={"dry_run": False},
    )
    job.file.save("visits.csv", ContentFile(content), save=False)
    job.save()
    return job


def age(job: Job, minutes: int) -> None:
    """The job as a killed worker leaves it: running, its last beat `minutes` ago."""
    then = timezone.now() - datetime.timedelta(minutes=minutes)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=then, heartbeat_at=then
    )


def test_a_running_job_silent_too_long_is_marked_failed_with_the_reason(import_job, settings):
    settings.JOB_HEARTBEAT_TIMEOUT_MINUTES = 5
    age(import_job, minutes=6)

    call_command("sweep_jobs", stdout=open("/dev/null", "w"))  # noqa: SIM115

    import_job.refresh_from_db()
    assert import_job.status == JobStatus.FAILED
    assert import_job.result["detail"].startswith("执行该任务的进程已停止（5 分钟没有心跳）")
    assert import_job.result["stale"] is True
    assert import_job.finished_at is not None


def test_a_job_that_still_beats_is_left_running(import_job, settings):
    settings.JOB_HEARTBEAT_TIMEOUT_MINUTES = 5
    age(import_job, minutes=4)

    assert jobs_sweep_stale() == 0

    import_job.refresh_from_db()
    assert import_job.status == JobStatus.RUNNING


def test_the_sweeper_is_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["reporting-sweep-stale-jobs"]
    assert entry["task"] == tasks.sweep_stale_jobs.name


def test_the_office_reruns_a_swept_import_from_the_page_and_it_imports(
    import_job, client, alliance_office, django_capture_on_commit_callbacks
):
    age(import_job, minutes=60)
    jobs_sweep_stale()
    client.force_login(alliance_office)

    page = client.get(f"/reporting/imports/{import_job.pk}/")
    assert "执行该任务的进程已停止" in page.content.decode()
    assert f"/reporting/imports/{import_job.pk}/rerun/" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/reporting/imports/{import_job.pk}/rerun/")

    import_job.refresh_from_db()
    assert import_job.status == JobStatus.DONE
    assert OutpatientVisit.objects.count() == 2


def test_the_office_reruns_a_failed_import_through_the_api(
    import_job, api, alliance_office, django_capture_on_commit_callbacks
):
    age(import_job, minutes=60)
    jobs_sweep_stale()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(alliance_office).post(f"/api/v1/facts/jobs/{import_job.pk}/rerun/")
    again = api.as_user(alliance_office).post(f"/api/v1/facts/jobs/{import_job.pk}/rerun/")

    assert response.status_code == 202, response.json()
    assert again.status_code == 409  # done now: only a failed job runs again
    import_job.refresh_from_db()
    assert import_job.status == JobStatus.DONE
    assert OutpatientVisit.objects.count() == 2


def test_an_import_task_delivered_twice_imports_once(import_job):
    tasks.run_import_job(import_job.pk)
    first = sorted(OutpatientVisit.objects.values_list("record_id", "visit_date", "total_cost"))
    finished = Job.objects.get(pk=import_job.pk).finished_at

    tasks.run_import_job(import_job.pk)  # the broker delivers it again (acks_late)

    import_job.refresh_from_db()
    assert import_job.status == JobStatus.DONE
    assert import_job.finished_at == finished  # ended once
    again = sorted(OutpatientVisit.objects.values_list("record_id", "visit_date", "total_cost"))
    assert again == first
    assert tasks.run_import_job.acks_late and tasks.recompute_indicators.acks_late


def test_a_redelivered_task_redoes_the_import_of_a_job_whose_worker_died(import_job):
    age(import_job, minutes=60)  # the worker died mid-import; nothing was committed

    tasks.run_import_job(import_job.pk)

    import_job.refresh_from_db()
    assert import_job.status == JobStatus.DONE
    assert OutpatientVisit.objects.count() == 2


def test_a_recompute_task_delivered_twice_ends_done_once(world, alliance_office):
    job = Job.objects.create(kind=JobKind.RECOMPUTE, year=2019, requested_by=alliance_office)

    tasks.recompute_indicators(2019, None, job.pk)
    finished = Job.objects.get(pk=job.pk).finished_at
    tasks.recompute_indicators(2019, None, job.pk)

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert job.finished_at == finished


def test_the_office_reruns_a_swept_recomputation_from_its_page(
    world, client, alliance_office, django_capture_on_commit_callbacks
):
    job = Job.objects.create(kind=JobKind.RECOMPUTE, year=2019, requested_by=alliance_office)
    age(job, minutes=60)
    jobs_sweep_stale()
    client.force_login(alliance_office)

    page = client.get(f"/reporting/recompute/{job.pk}/").content.decode()
    assert "执行该任务的进程已停止" in page and f"/reporting/recompute/{job.pk}/rerun/" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/reporting/recompute/{job.pk}/rerun/")

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
