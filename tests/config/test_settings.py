"""Production defaults are safe: checked in a fresh interpreter with a production environment."""

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

PATIENT_KEYS = {
    # Two keys, the first current: production may list an old one for rotation.
    "PATIENT_ID_KEYS": f"k2:{base64.b64encode(b'2' * 32).decode()},"
    f"k1:{base64.b64encode(b'1' * 32).decode()}",
    "PATIENT_ID_HMAC_KEY": base64.b64encode(b"h" * 32).decode(),
}
PRODUCTION_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DATABASE_URL": "sqlite:////tmp/unused.sqlite3",
    "ALLOWED_HOSTS": "alliance.example.org",
    **PATIENT_KEYS,
}


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=PRODUCTION_ENV | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_a_secret_key_stops_with_a_clear_message():
    result = run_manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_malformed_boolean_is_a_startup_error():
    result = run_manage("check", SECRET_KEY="x" * 50, DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


@pytest.mark.parametrize("missing", ["PATIENT_ID_KEYS", "PATIENT_ID_HMAC_KEY"])
def test_production_without_a_patient_data_key_stops_with_a_clear_message(missing):
    # Never the development keys derived from SECRET_KEY: they are not secret enough.
    result = run_manage("check", SECRET_KEY="x" * 50, **{missing: ""})
    assert result.returncode != 0
    assert "PATIENT_ID_KEYS and PATIENT_ID_HMAC_KEY must both be set" in result.stderr


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("k1:not-base64!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
        (base64.b64encode(b"1" * 32).decode(), "key_id:base64key"),
        (
            f"a:{base64.b64encode(b'1' * 32).decode()},a:{base64.b64encode(b'2' * 32).decode()}",
            "twice",
        ),
    ],
)
def test_a_malformed_patient_key_is_a_startup_error(keys, message):
    result = run_manage("check", SECRET_KEY="x" * 50, PATIENT_ID_KEYS=keys)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_deployment_check_is_clean_in_production():
    result = run_manage("check", "--deploy", SECRET_KEY="k" * 60 + "-Zq9")
    output = result.stderr + result.stdout
    assert result.returncode == 0, output
    reported = set(re.findall(r"\(([a-z_.]+\.[EW]\d{3})\)", output))
    # Without `npm ci` the front-end files are missing, and the check says so (alliance.W001);
    # that is the only finding allowed.
    assets_installed = (Path(settings.BASE_DIR) / "node_modules").is_dir()
    assert reported <= (set() if assets_installed else {"alliance.W001"}), output


def test_debug_is_off_unless_asked_for():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DEBUG, settings.TIME_ZONE, settings.LANGUAGE_CODE)",
        ],
        cwd=settings.BASE_DIR,
        env=PRODUCTION_ENV | {"SECRET_KEY": "s" * 60},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["False", "Asia/Shanghai", "zh-hans"], result.stderr


def _celery_eager(**env: str) -> str:
    code = (
        "import django; django.setup(); from config.celery import app; "
        "print(app.conf.task_always_eager, app.conf.broker_url)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=PRODUCTION_ENV | {"SECRET_KEY": "s" * 60} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_celery_runs_tasks_in_process_only_without_a_broker():
    assert _celery_eager() == "True memory://localhost/"
    assert _celery_eager(REDIS_URL="redis://127.0.0.1:6379/5") == "False redis://127.0.0.1:6379/5"
    broker = "redis://127.0.0.1:6379/7"
    assert _celery_eager(CELERY_BROKER_URL=broker) == f"False {broker}"
