"""Recomputation through the Redis broker and a real Celery worker process."""

import datetime
import io
from decimal import Decimal

import pytest

from core.tasks import record_worker_heartbeat
from reporting.choices import JobKind, JobStatus
from reporting.models import IndicatorValue, Job, OutpatientVisit
from reporting.services.imports import import_facts
from reporting.services.indicators import recompute_job
from reporting.tasks import recompute_indicators
from tests.kit.waiting import wait_for

pytestmark = pytest.mark.worker


def test_an_import_queues_the_recomputation_a_real_worker_runs(celery_worker_queue, world):
    center = world["center"]
    csv = (
        "institution_code,record_id,visit_date,visit_type,department,visit_count,total_cost\n"
        f"{center.code},A1,2021-03-01,outpatient,全科,10,1500.00\n"
        f"{center.code},A2,2021-04-01,emergency,急诊,5,1000.00\n"
    )
    result = import_facts(kind="visits", file=io.BytesIO(csv.encode()), actor=None)
    assert (result.created, result.updated) == (2, 0)

    def computed():
        return IndicatorValue.objects.filter(
            indicator="avg_outpatient_cost", institution=center, period="2021"
        ).first()

    assert wait_for(lambda: computed() is not None)
    assert computed().value == Decimal("166.666667") and computed().denominator == 15  # 2,500 ÷ 15


def test_an_operator_started_recompute_reports_progress_and_completion(celery_worker_queue, world):
    OutpatientVisit.objects.create(
        institution=world["hospital"],
        record_id="H1",
        visit_date=datetime.date(2021, 5, 1),
        visit_count=4,
        total_cost=Decimal(800),
    )
    job = Job.objects.create(kind=JobKind.RECOMPUTE, year=2021)
    recompute_indicators.apply_async((2021, None, job.pk), queue=celery_worker_queue)
    assert wait_for(lambda: Job.objects.get(pk=job.pk).status == JobStatus.DONE)
    job.refresh_from_db()
    assert job.progress_done == job.progress_total == 4
    assert job.result["values"] == IndicatorValue.objects.filter(period__startswith="2021").count()
    assert job.started_at <= job.finished_at
    # The worker has drained its queue: a heartbeat sent last comes back last.
    record_worker_heartbeat.apply_async(queue=celery_worker_queue)


@pytest.mark.django_db
def test_a_failing_recompute_records_its_error_on_the_job():
    job = Job.objects.create(kind=JobKind.RECOMPUTE, year=2021)
    with pytest.raises(TypeError):
        recompute_job(year="not a year", job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.errors[0]["message"]
    assert job.finished_at is not None
