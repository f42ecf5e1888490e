"""A real Celery worker for the tests that need one: a process of its own on a private queue,
against the test database, with the suite's patient data keys.

- `require_services()`: PostgreSQL and Redis, or the test is skipped (failed under CI=true).
- `private_queue()`: a fresh queue name, with this process sending tasks to it (not eagerly).
- `start_worker(queue)` and `stop_worker(worker)`: the `celery worker` process.

The `celery_worker_queue` fixture (tests/conftest.py) puts the three together; a test that
kills its worker midway (tests/reporting/test_worker_killed.py) starts its own.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection


def require_services() -> None:
    """A worker in another process needs PostgreSQL and a broker; CI must not skip it."""
    from config.celery import app as celery_app  # noqa: F401 - configured before the worker starts

    missing = []
    if connection.vendor != "postgresql":
        missing.append("DATABASE_URL (PostgreSQL)")
    if not os.environ.get("REDIS_URL") and not os.environ.get("CELERY_BROKER_URL"):
        missing.append("REDIS_URL")
    if missing:
        message = f"needs {' and '.join(missing)} for a real Celery worker"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the worker test: {message}")
        pytest.skip(message)


def database_url() -> str:
    """The test database, as the worker's DATABASE_URL."""
    db = connection.settings_dict
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def worker_environment(queue: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # Tasks the worker itself queues (notifications after commit) stay on the private queue.
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "SECRET_KEY": "worker-test-secret",  # noqa: S105
        "DEBUG": "false",
        # Production settings need the patient data keys; the worker must use the suite's own
        # to read the identity numbers the tests wrote.
        "PATIENT_ID_KEYS": ",".join(
            f"{key_id}:{base64.b64encode(key).decode()}"
            for key_id, key in settings.PATIENT_ID_KEYS.items()
        ),
        "PATIENT_ID_HMAC_KEY": base64.b64encode(settings.PATIENT_ID_HMAC_KEY).decode(),
        # Files kept for a job (imports) are read by the worker where the test stored them.
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }


@contextmanager
def private_queue() -> Iterator[str]:
    """A new queue name; tasks this process sends go there, not run eagerly, until the end."""
    from config.celery import app as celery_app

    queue = f"test-{uuid.uuid4().hex[:12]}"
    eager, default_queue = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        celery_app.conf.task_always_eager = eager
        celery_app.conf.task_default_queue = default_queue


def start_worker(queue: str, *, keep_output: bool = True) -> subprocess.Popen:
    """`celery worker` (solo pool) on `queue`. `keep_output=False` discards its log, for a
    worker whose output nobody reads before it ends (a long import fills a pipe and blocks)."""
    output = subprocess.PIPE if keep_output else subprocess.DEVNULL
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
        cwd=settings.BASE_DIR,
        env=worker_environment(queue),
        stdout=output,
        stderr=subprocess.STDOUT if keep_output else subprocess.DEVNULL,
        text=True,
    )


def stop_worker(worker: subprocess.Popen) -> str:
    """Stop the worker (SIGTERM, SIGKILL after 20 s) unless it has ended; its output, if kept."""
    if worker.poll() is None:
        worker.terminate()
    try:
        output, _ = worker.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
    return output or ""
