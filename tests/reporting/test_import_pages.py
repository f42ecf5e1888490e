"""The office's import pages: upload a file (a job, run by Celery in-process here), watch it,
read the rejected rows; a CSV template per kind; 403 for every other role."""

import codecs
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import Client

from reporting.choices import JobKind, JobStatus
from reporting.models import Job, OutpatientVisit
from reporting.services.imports import _ProgressRecorder, run_import_job
from tests.conftest import require_postgres

from .conftest import HEADERS, csv_bytes, visit

pytestmark = pytest.mark.django_db

LIST = "/reporting/imports/"


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def upload(client, kind: str, content: bytes, name: str = "visits.csv"):
    return client.post(LIST, {"kind": kind, "file": SimpleUploadedFile(name, content)})


def make_job(user, content: bytes, **fields) -> Job:
    job = Job.objects.create(
        kind=JobKind.IMPORT, fact_kind="visits", requested_by=user, file_name="visits.csv", **fields
    )
    job.file.save("visits.csv", ContentFile(content))
    return job


def test_the_page_shows_the_form_the_columns_and_a_template_per_kind(alliance_office):
    response = logged_in(alliance_office).get(LIST)

    assert response.status_code == 200
    page = response.content.decode()
    for kind, columns in HEADERS.items():
        assert f"/reporting/imports/template/{kind}.csv" in page
        for column in columns:
            assert column in page
    assert 'enctype="multipart/form-data"' in page
    for alias in ("机构编码", "就诊流水号", "门诊号", "住院号", "出院日期", "开放床位数"):
        assert alias in page  # the Chinese names accepted for the columns
    assert 'accept=".csv,.tsv,.txt,.xlsx,.xlsm,.xls,.ods"' in page


def test_the_template_is_the_header_row_in_utf8_with_a_bom(alliance_office):
    response = logged_in(alliance_office).get("/reporting/imports/template/stays.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert response.content == codecs.BOM_UTF8 + (",".join(HEADERS["stays"]) + "\r\n").encode()


def test_an_unknown_template_is_a_404(alliance_office):
    assert logged_in(alliance_office).get("/reporting/imports/template/x.csv").status_code == 404


def test_an_upload_becomes_a_job_that_imports_the_file(
    alliance_office, world, django_capture_on_commit_callbacks
):
    content = csv_bytes("visits", [visit(world["center"], "V1"), visit(world["center"], "V2")])

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(logged_in(alliance_office), "visits", content)

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/reporting/imports/{job.pk}/"
    assert (job.status, job.fact_kind, job.file_name) == (JobStatus.DONE, "visits", "visits.csv")
    assert job.result["dry_run"] is True  # the page checks first: a preview, nothing written
    assert (job.result["created"], job.result["updated"]) == (2, 0)
    assert job.progress_done == 2
    assert job.requested_by == alliance_office
    assert job.started_at and job.finished_at
    assert not OutpatientVisit.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = logged_in(alliance_office).post(f"/reporting/imports/{job.pk}/confirm/")

    assert confirmed.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.result["dry_run"]) == (JobStatus.DONE, False)
    assert (job.result["created"], job.result["updated"]) == (2, 0)
    assert OutpatientVisit.objects.count() == 2


def test_a_rejected_file_fails_its_job_and_the_detail_page_lists_every_bad_row(
    alliance_office, world, django_capture_on_commit_callbacks
):
    rows = [
        visit(world["center"], "V1", total_cost="-3"),
        visit(world["center"], "V2"),
        visit(world["foreign_center"], "V3"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        upload(logged_in(alliance_office), "visits", csv_bytes("visits", rows))

    job = Job.objects.get()
    assert job.status == JobStatus.FAILED
    assert job.result["error_count"] == 2
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (2, "total_cost"),
        (4, "institution_code"),
    ]
    assert not OutpatientVisit.objects.exists()

    page = logged_in(alliance_office).get(f"/reporting/imports/{job.pk}/").content.decode()
    cells = re.findall(
        r'<td class="text-end num">(\d+)</td><td><code>(\w+)</code></td><td><code>([^<]+)</code>',
        page,
    )
    code = world["foreign_center"].code
    assert cells == [("2", "total_cost", "-3"), ("4", "institution_code", code)]
    assert "不是您可导入的机构编码" in page
    assert "hx-trigger" not in page  # finished: nothing to poll


def test_a_form_without_a_csv_or_xlsx_file_is_shown_again_with_its_error(alliance_office):
    response = upload(logged_in(alliance_office), "visits", b"%PDF-1.7", name="report.pdf")

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert not Job.objects.exists()


def test_a_running_job_polls_its_status_block_every_two_seconds(alliance_office, world):
    job = make_job(
        alliance_office, b"", status=JobStatus.RUNNING, progress_done=20000, progress_total=80000
    )
    client = logged_in(alliance_office)

    page = client.get(f"/reporting/imports/{job.pk}/").content.decode()
    partial = client.get(f"/reporting/imports/{job.pk}/", HTTP_HX_REQUEST="true")

    assert 'hx-trigger="every 2s"' in page
    assert f'hx-get="/reporting/imports/{job.pk}/"' in page
    assert '<progress class="progress' in page and 'value="20000"' in page
    assert partial.status_code == 200
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="import-job-status"')
    assert "<html" not in body


def test_the_job_runner_records_progress_and_claims_a_job_only_once(alliance_office, world):
    job = make_job(alliance_office, csv_bytes("visits", [visit(world["center"])]))

    run_import_job(job)
    run_import_job(job)  # a duplicate delivery of the task

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert (job.result["created"], job.result["updated"]) == (1, 0)
    assert job.progress_total == 1
    assert OutpatientVisit.objects.count() == 1


def test_a_job_whose_uploader_is_gone_fails_without_importing(world):
    job = make_job(None, csv_bytes("visits", [visit(world["foreign_center"])]))

    run_import_job(job)

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert not OutpatientVisit.objects.exists()


def test_an_office_sees_only_the_jobs_of_its_own_alliance(alliance_office, other_office):
    own = make_job(alliance_office, b"")
    foreign = make_job(other_office, b"")
    client = logged_in(alliance_office)

    page = client.get(LIST)

    assert list(page.context["jobs"]) == [own]
    assert client.get(f"/reporting/imports/{foreign.pk}/").status_code == 404
    assert client.get(f"/reporting/imports/{own.pk}/").status_code == 200


def test_the_job_list_runs_a_fixed_number_of_queries(
    alliance_office, django_assert_max_num_queries
):
    for _ in range(3):
        make_job(alliance_office, b"", status=JobStatus.DONE, result={"created": 1, "updated": 0})
    client = logged_in(alliance_office)
    client.get(LIST)  # warm the session and the permission caches

    with django_assert_max_num_queries(12) as few:
        client.get(LIST)
    for _ in range(15):
        make_job(alliance_office, b"", status=JobStatus.FAILED, result={"error_count": 3})
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(LIST)


@pytest.mark.parametrize(
    "persona",
    ["clinic_doctor", "hospital_triage", "center_staff", "bureau_viewer", "no_profile_user"],
    indirect=True,
)
def test_every_other_role_gets_403_on_every_import_page(persona, alliance_office, world):
    job = make_job(alliance_office, b"")
    client = logged_in(persona)

    for url in (LIST, f"/reporting/imports/{job.pk}/", "/reporting/imports/template/visits.csv"):
        assert client.get(url).status_code == 403, url
    content = csv_bytes("visits", [visit(world["center"])])
    assert upload(client, "visits", content).status_code == 403
    assert Job.objects.count() == 1


def test_an_anonymous_visitor_is_sent_to_log_in(world):
    response = Client().get(LIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_menu_shows_data_import_to_the_office_only(alliance_office, clinic_doctor):
    assert LIST in logged_in(alliance_office).get("/").content.decode()
    assert LIST not in logged_in(clinic_doctor).get("/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_to_other_connections_while_the_import_runs(
    alliance_office, world, monkeypatch
):
    """The import holds one transaction open; the page polls from other connections."""
    require_postgres()
    rows = [visit(world["center"], f"V{n:05d}") for n in range(25_000)]
    job = make_job(alliance_office, csv_bytes("visits", rows))
    main = connections["default"]
    watcher = type(main)(dict(main.settings_dict), "default")
    seen = []
    record = _ProgressRecorder.__call__

    def record_and_look(self, done, total):
        record(self, done, total)
        with watcher.cursor() as cursor:
            cursor.execute("SELECT progress_done FROM reporting_job WHERE id = %s", [job.pk])
            seen.append(cursor.fetchone()[0])

    monkeypatch.setattr(_ProgressRecorder, "__call__", record_and_look)
    try:
        run_import_job(job)
    finally:
        watcher.close()

    assert {10_000, 20_000} <= set(seen)
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.progress_total) == (JobStatus.DONE, 25_000, 25_000)


@pytest.mark.parametrize("model", ["outpatientvisit", "inpatientstay", "bedcapacity", "job"])
def test_the_admin_shows_facts_and_jobs_but_adds_none(superuser, world, model):
    client = logged_in(superuser)

    assert client.get(f"/admin/reporting/{model}/").status_code == 200
    assert client.get(f"/admin/reporting/{model}/add/").status_code == 403
