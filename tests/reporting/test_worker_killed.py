"""Issue 13, item 8, with real workers: a worker killed (SIGKILL) in the middle of an import
leaves its job running and nothing written; the sweeper marks it failed once its heartbeat is
old; the office runs it again and a second worker imports the file once."""

import datetime
import subprocess

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from reporting.choices import FactKind, JobKind, JobStatus
from reporting.models import Job, OutpatientVisit
from reporting.services.jobs import job_rerun, jobs_sweep_stale
from reporting.tasks import run_import_job
from tests.kit.waiting import wait_for
from tests.kit.worker import private_queue, require_services, start_worker, stop_worker

from .conftest import HEADERS, LAST_YEAR

pytestmark = pytest.mark.worker

ROWS = 600_000  # seconds of work: the test sees it running and kills it midway


@pytest.fixture
def queue(transactional_db):
    """A private queue and the workers a test starts on it, stopped afterwards."""
    require_services()
    workers: list[subprocess.Popen] = []
    with private_queue() as name:
        try:
            yield name, workers
        finally:
            for worker in workers:
                stop_worker(worker)


def test_a_killed_worker_s_job_is_swept_and_rerun_once(queue, world, alliance_office, settings):
    name, workers = queue
    code = world["center"].code
    lines = [",".join(HEADERS["visits"])]
    lines += [f"{code},K{n},{LAST_YEAR}-03-01,门诊,全科,1,{n % 500}.50" for n in range(ROWS)]
    job = Job(
        kind=JobKind.IMPORT,
        fact_kind=FactKind.VISITS,
        requested_by=alliance_office,
        file_name="visits.csv",
        result={"dry_run": False},
    )
    job.file.save("visits.csv", ContentFile(("\n".join(lines) + "\n").encode()), save=False)
    job.save()

    workers.append(start_worker(name, keep_output=False))
    run_import_job.apply_async((job.pk,), queue=name)

    def importing() -> bool:
        current = Job.objects.get(pk=job.pk)
        return current.status == JobStatus.RUNNING and current.progress_done >= 10_000

    assert wait_for(importing, every=0.05), "the worker never got going"
    workers[0].kill()  # SIGKILL mid-import: no handler runs, the transaction is never committed
    workers[0].wait()

    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.heartbeat_at is not None
    assert OutpatientVisit.objects.count() == 0
    assert jobs_sweep_stale() == 0  # its heartbeat is seconds old
    later = timezone.now() + datetime.timedelta(minutes=settings.JOB_HEARTBEAT_TIMEOUT_MINUTES + 1)
    assert jobs_sweep_stale(now=later) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "心跳" in job.result["detail"]

    job_rerun(actor=alliance_office, job=job)
    workers.append(start_worker(name, keep_output=False))

    assert wait_for(lambda: Job.objects.get(pk=job.pk).status == JobStatus.DONE, seconds=180)
    job.refresh_from_db()
    assert job.result["created"] == ROWS and job.result["updated"] == 0
    assert OutpatientVisit.objects.count() == ROWS
