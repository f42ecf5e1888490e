"""Celery application: configured from Django settings (CELERY_*), tasks autodiscovered per app.

Database connections and PostgreSQL restarts: because DJANGO_SETTINGS_MODULE is set before the
app is created, Celery installs its Django fixup, which closes every Django connection before and
after each task (CONN_MAX_AGE does not apply in a worker). A task therefore never starts on a
connection that a server restart has killed; one whose connection dies mid-task fails with
OperationalError, and the notification tasks autoretry with exponential backoff while the beat
jobs simply run again on their next tick. tests/test_worker_resilience.py kills a real worker's
connections to prove it: keep the fixup (no custom loader, no `fixups=[]`).

Memory: settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD and _MAX_TASKS_PER_CHILD recycle a child
after its task; CELERY_WORKER_MEMORY_LIMIT_MB caps the heap of each worker process while it runs
(RLIMIT_DATA, which counts what malloc and Rust allocate, not reserved address space), so a
hostile file that slipped past the import limits fails its own task, not the machine.

Beat uses no database: the schedule is settings.CELERY_BEAT_SCHEDULE with the default file
scheduler (django-celery-beat is not installed), so beat only publishes to the broker.
"""

import os
import resource

from celery import Celery
from celery.signals import worker_init
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def limit_memory() -> None:
    """Cap this process's heap at CELERY_WORKER_MEMORY_LIMIT_MB (0: leave it alone)."""
    megabytes = getattr(settings, "CELERY_WORKER_MEMORY_LIMIT_MB", 0)
    if megabytes:
        cap = megabytes * 1024 * 1024
        _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))


@worker_init.connect
def _limit_worker_memory(**kwargs) -> None:  # inherited by the prefork children
    limit_memory()
