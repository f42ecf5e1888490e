"""Jobs whose worker died: found by their heartbeat, marked failed, re-run by the office.

A running job beats (`Job.heartbeat_at`) each time it reports progress. When its worker is
killed (out of memory, a deploy, a lost machine) nothing finishes it: the sweeper, every
minute, marks failed each running job silent for JOB_HEARTBEAT_TIMEOUT_MINUTES, saying why.
The office re-runs a failed job from its page or the API: an import reads its kept file again
(all or nothing, upserted on natural keys), a recomputation replaces the year's values.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import outbox
from core.errors import ActionNotAllowed, IllegalTransition

from .. import tasks
from ..choices import JobKind, JobStatus
from ..models import Job
from ..rules import imports_facts

logger = logging.getLogger(__name__)


def stale_running(now: datetime.datetime) -> Q:
    """Running jobs whose last heartbeat (or start, before the first beat) is too old."""
    cutoff = now - datetime.timedelta(minutes=settings.JOB_HEARTBEAT_TIMEOUT_MINUTES)
    return Q(status=JobStatus.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )


def job_claim(job: Job) -> bool:
    """Take a job to run: a queued one, or a running one whose heartbeat stopped (its worker
    died and the broker delivers the task again). False for a job finished or running
    elsewhere: a duplicate delivery does nothing."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job.pk)
        .filter(Q(status=JobStatus.QUEUED) | stale_running(now))
        .update(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now)
    )


def jobs_sweep_stale(*, now: datetime.datetime | None = None) -> int:
    """Mark failed every running job whose heartbeat stopped; answers how many."""
    now = now or timezone.now()
    swept = 0
    with transaction.atomic():
        for job in Job.objects.select_for_update(skip_locked=True).filter(stale_running(now)):
            minutes = settings.JOB_HEARTBEAT_TIMEOUT_MINUTES
            detail = _(
                "The worker running this job stopped (no heartbeat for %(minutes)d minutes): "
                "nothing was written. Run it again."
            ) % {"minutes": minutes}
            job.status = JobStatus.FAILED
            job.finished_at = now
            job.result = {**job.result, "detail": detail, "stale": True}
            if job.kind == JobKind.RECOMPUTE:  # the recompute page lists a job's errors
                job.errors = [{"row": None, "column": "", "message": detail}]
            job.save(update_fields=["status", "finished_at", "result", "errors"])
            logger.warning("job %s marked failed: no heartbeat since %s", job.pk, job.heartbeat_at)
            swept += 1
    return swept


def may_rerun(job: Job) -> bool:
    if job.status != JobStatus.FAILED:
        return False
    return job.kind == JobKind.RECOMPUTE or bool(job.file)


def job_rerun(*, actor, job: Job) -> Job:
    """Queue a failed job again: the same file (or year) as before, its errors cleared."""
    if not imports_facts(actor):
        raise ActionNotAllowed(_("Only the alliance office runs jobs."))
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if not may_rerun(locked):
            raise IllegalTransition(_("Only a failed job can be run again."))
        result = locked.result or {}
        locked.status = JobStatus.QUEUED
        locked.result = {"dry_run": result["dry_run"]} if "dry_run" in result else {}
        locked.errors = []
        locked.progress_done, locked.progress_total = 0, None
        locked.started_at = locked.finished_at = locked.heartbeat_at = None
        locked.save(
            update_fields=[
                "status",
                "result",
                "errors",
                "progress_done",
                "progress_total",
                "started_at",
                "finished_at",
                "heartbeat_at",
            ]
        )
        if locked.kind == JobKind.IMPORT:
            outbox.enqueue(tasks.run_import_job, locked.pk)
        else:
            ids = [locked.institution_id] if locked.institution_id else None
            outbox.enqueue(tasks.recompute_indicators, locked.year, ids, locked.pk)
    return locked
