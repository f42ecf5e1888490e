"""Celery application: configured from Django settings (CELERY_*), tasks autodiscovered per app.

Database connections and PostgreSQL restarts: because DJANGO_SETTINGS_MODULE is set before the
app is created, Celery installs its Django fixup, which closes every Django connection before and
after each task (CONN_MAX_AGE does not apply in a worker). A task therefore never starts on a
connection that a server restart has killed; one whose connection dies mid-task fails with
OperationalError, and the notification tasks autoretry with exponential backoff while the beat
jobs simply run again on their next tick. tests/test_worker_resilience.py kills a real worker's
connections to prove it: keep the fixup (no custom loader, no `fixups=[]`).

Beat uses no database: the schedule is settings.CELERY_BEAT_SCHEDULE with the default file
scheduler (django-celery-beat is not installed), so beat only publishes to the broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
