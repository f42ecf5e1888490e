"""Issue 13, item 8, with real workers: a worker killed (SIGKILL) in the middle of an import
leaves its job running and nothing written; the sweeper marks it failed once its heartbeat is
old; the office runs it again and a second worker imports the file once."""

import base64
import datetime
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.utils import timezone

from reporting.choices import FactKind, JobKind, JobStatus
from reporting.models import Job, OutpatientVisit
from reporting.services.jobs import job_rerun, jobs_sweep_stale
from reporting.tasks import run_import_job
from tests.conftest import _database_url, _require_services
from tests.kit.waiting import wait_for

from .conftest import HEADERS, LAST_YEAR

pytestmark = pytest.mark.worker

ROWS = 600_000  # seconds of work: the test sees it running and kills it midway


def start_worker(queue: str, media_root) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "SECRET_KEY": "worker-test-secret",  # noqa: S105
        "DEBUG": "false",
        "MEDIA_ROOT": str(media_root),  # where the test keeps the uploaded file
        "PATIENT_ID_KEYS": ",".join(
            f"{key_id}:{base64.b64encode(key).decode()}"
            for key_id, key in django_settings.PATIENT_ID_KEYS.items()
        ),
        "PATIENT_ID_HMAC_KEY": base64.b64encode(django_settings.PATIENT_ID_HMAC_KEY).decode(),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--queues",
            queue,
            "--hostname",
            f"{queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def queue(transactional_db):
    _require_services()
    from config.celery import app as celery_app

    name = f"test-{uuid.uuid4().hex[:12]}"
    eager, default_queue = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = name
    workers: list[subprocess.Popen] = []
    try:
        yield name, workers
    finally:
        celery_app.conf.task_always_eager = eager
        celery_app.conf.task_default_queue = default_queue
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()


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

    workers.append(start_worker(name, settings.MEDIA_ROOT))
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
    workers.append(start_worker(name, settings.MEDIA_ROOT))

    assert wait_for(lambda: Job.objects.get(pk=job.pk).status == JobStatus.DONE, seconds=180)
    job.refresh_from_db()
    assert job.result["created"] == ROWS and job.result["updated"] == 0
    assert OutpatientVisit.objects.count() == ROWS
