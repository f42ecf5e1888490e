"""The import API through the Redis broker and a real Celery worker (issue 13, item 3): a small
file is imported by the worker, never by the web process, and the API still answers 200 with
the counts or 400 with the rejection, as it did when it imported the file itself."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from reporting.choices import JobStatus
from reporting.models import Job, OutpatientVisit
from reporting.services import imports

from .conftest import HEADERS, csv_bytes, visit
from .test_imports_hostile import LAUGHS, inline_row, workbook

pytestmark = pytest.mark.worker

URL = "/api/v1/facts/visits/import/"


@pytest.fixture
def office(celery_worker_queue, api, alliance_office, settings, monkeypatch):
    """The office's API client, with the web side (this process) unable to import: a file
    imported here fails the request. The worker is another process, untouched."""

    def not_here(**kwargs):
        raise AssertionError("a file was imported in the web process")

    monkeypatch.setattr(imports, "import_facts", not_here)
    settings.IMPORT_SYNC_WAIT_SECONDS = 60  # the worker may still be starting on a busy machine
    return api.as_user(alliance_office)


def post(client, content: bytes, name: str, query: str = ""):
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post(
        URL + query, {"file": upload}, format="multipart", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )


def test_a_small_csv_is_imported_by_the_worker_and_answered_200(office, world):
    content = csv_bytes("visits", [visit(world["center"], "V1"), visit(world["station"], "V2")])

    preview = post(office, content, "visits.csv", "?dry_run=true")
    response = post(office, content, "visits.csv")

    assert preview.status_code == 200, preview.content[:500]
    assert {k: preview.json()[k] for k in ("dry_run", "created", "updated", "rows")} == {
        "dry_run": True,
        "created": 2,
        "updated": 0,
        "rows": 2,
    }
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert {k: body[k] for k in ("dry_run", "created", "updated", "rows")} == {
        "dry_run": False,
        "created": 2,
        "updated": 0,
        "rows": 2,
    }
    assert {"warnings", "measure", "months", "month_count"} <= set(body)
    assert OutpatientVisit.objects.count() == 2
    # Each answer is its job's result, stored by the worker.
    assert [job.result for job in Job.objects.order_by("pk")] == [preview.json(), body]


def test_a_hostile_small_workbook_answers_400_from_the_worker(office, world):
    row = '<row r="2"><c r="A2" t="inlineStr"><is><t>&lol2;</t></is></c></row>'
    content = workbook([inline_row(1, HEADERS["visits"]), row], prologue=LAUGHS)

    response = post(office, content, "visits.xlsx")

    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert set(body) == {"detail", "error_count", "errors", "errors_omitted"}
    assert "DOCTYPE" in body["detail"] and body["error_count"] == 1
    assert len(response.content) < 4096
    assert not OutpatientVisit.objects.exists()
    assert Job.objects.get().status == JobStatus.FAILED


def test_when_the_wait_runs_out_the_answer_is_the_job_to_follow(office, world, settings):
    settings.IMPORT_SYNC_WAIT_SECONDS = 0  # answered before the worker (still starting) gets to it
    content = csv_bytes("visits", [visit(world["center"], "V1")])

    response = post(office, content, "visits.csv")

    assert response.status_code == 202, response.content[:500]
    assert response.json()["status"] in {JobStatus.QUEUED, JobStatus.RUNNING}
    assert response["Location"] == f"/api/v1/facts/jobs/{response.json()['job']}/"
    deadline = time.monotonic() + 60
    while (job := office.get(response.json()["url"]).json())["status"] != JobStatus.DONE:
        assert job["status"] != JobStatus.FAILED and time.monotonic() < deadline, job
        time.sleep(0.25)
    assert job["result"]["created"] == 1 and OutpatientVisit.objects.count() == 1
