"""Real-browser fixtures: Playwright driving Debian's chromium against pytest-django's live server.

Never `playwright install`: its downloaded browser does not run here; the system chromium does.
A missing browser fails the run (CI must exercise the journeys) unless E2E_SKIP=1 says otherwise.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"


def _unavailable(reason: str) -> None:
    if os.environ.get("E2E_SKIP") == "1":
        pytest.skip(f"E2E_SKIP=1 is set: browser journeys not run ({reason})")
    pytest.fail(f"browser journeys cannot run: {reason}; set E2E_SKIP=1 to skip them knowingly")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(executable):
        _unavailable("no chromium on this machine (apt-get install chromium fonts-noto-cjk)")
    # Playwright's sync API keeps an event loop running in this thread, which trips Django's
    # async-safety check on every ORM call the test makes; the calls are in fact synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def demo(transactional_db):
    """The Lingang demo alliance, its shared centers with their catalogs, and the reporting facts.

    Left out: the demo referrals (the journey's own referral is then alone on the hospital's
    worklist) and the four months of demo orders and sterilization (about 20 s per language,
    used by no step). The live server flushes the database after each test, so this runs twice."""
    from alliance.demo import load_demo as load_alliance
    from alliance.models import Alliance, Institution
    from reporting.demo import load_demo as load_facts
    from sharedcenters.demo import _centers

    load_alliance()
    _centers(
        Institution.objects.get(short_name="临港院区"), Alliance.objects.get(name="临港医联体")
    )
    load_facts()
