"""Celery tasks of reporting: thin wrappers that take ids, re-read and call the services.

The services are imported inside each task: they queue these tasks (services.jobs imports
this module), so a module-level import would be a cycle.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .models import Job

# A broker hiccup or a database restart mid-task: try again with backoff (recomputing is
# idempotent: it replaces the period's values).
RETRY = {
    "autoretry_for": (ConnectionError, OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 5,
}


# Imports and recomputations are acknowledged once done (acks_late): a worker killed midway
# leaves the task to the broker, which delivers it again; the job's claim makes that run once.
@shared_task(ignore_result=True, acks_late=True)
def run_import_job(job_id: int) -> None:
    """Import an uploaded file; the job records progress, counts and row errors."""
    from .services.imports import run_import_job as run

    run(Job.objects.get(pk=job_id))


@shared_task(ignore_result=True, acks_late=True, **RETRY)
def recompute_indicators(
    year: int, institution_ids: list[int] | None = None, job_id: int | None = None
) -> None:
    """Recompute one year's indicators (all institutions, or those given, and their alliances).

    Recomputing is idempotent: the values are replaced, so a retry or a duplicate does no harm.
    """
    from .services.indicators import recompute_job

    recompute_job(year=year, institution_ids=institution_ids, job_id=job_id)


@shared_task(ignore_result=True, **RETRY)
def recompute_current_periods() -> None:
    """Nightly: the current year (and last year during January, when late files still arrive)."""
    from .services.indicators import recompute_current

    recompute_current()


@shared_task(ignore_result=True)
def sweep_stale_jobs() -> None:
    """Every minute: mark failed the running jobs whose heartbeat stopped (their worker died)."""
    from .services.jobs import jobs_sweep_stale

    jobs_sweep_stale()
