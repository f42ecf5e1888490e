"""The preview (校验): every import says what it creates and updates and, per institution and
month, the totals before and after; a dry run says the same and writes nothing; a month growing
by more than half through new record ids (leading zeros lost in Excel) is flagged. Through the
API: ?dry_run=true, and large files as jobs (202 with the job's URL)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from reporting.choices import JobStatus
from reporting.models import InpatientStay, Job, OutpatientVisit
from reporting.services.imports import import_facts, import_job_confirm

from .conftest import LAST_YEAR, beds, csv_bytes, csv_file, stay, visit

pytestmark = pytest.mark.django_db

URL = "/api/v1/facts/{}/import/"


def month(result, code: str, when: str) -> dict:
    return next(
        m for m in result.preview["months"] if (m["institution_code"], m["month"]) == (code, when)
    )


def visits_file(center, ids, day=f"{LAST_YEAR}-03-05", count="2") -> io.BytesIO:
    return csv_file("visits", [visit(center, i, visit_date=day, visit_count=count) for i in ids])


def test_a_dry_run_answers_the_counts_and_totals_and_writes_nothing(
    world, django_capture_on_commit_callbacks
):
    center = world["center"]
    import_facts(kind="visits", file=visits_file(center, ["1", "2"]), actor=None)

    with django_capture_on_commit_callbacks() as callbacks:
        result = import_facts(
            kind="visits", file=visits_file(center, ["2", "3", "4"]), actor=None, dry_run=True
        )

    assert (result.dry_run, result.created, result.updated, result.rows) == (True, 2, 1, 3)
    assert month(result, center.code, f"{LAST_YEAR}-03") == {
        "institution_code": center.code,
        "month": f"{LAST_YEAR}-03",
        "in_file": 6,
        "before": 4,
        "after": 8,
        "new_records": 2,
        "grows": True,
    }
    assert OutpatientVisit.objects.count() == 2
    assert callbacks == []  # nothing to recompute


def test_a_commit_answers_the_same_preview_as_its_dry_run(world):
    center = world["center"]
    import_facts(kind="visits", file=visits_file(center, ["1", "2"]), actor=None)
    file = csv_bytes("visits", [visit(center, "2", visit_count="5"), visit(center, "9")])

    dry = import_facts(kind="visits", file=io.BytesIO(file), actor=None, dry_run=True)
    done = import_facts(kind="visits", file=io.BytesIO(file), actor=None)

    assert dry.as_dict() | {"dry_run": False} == done.as_dict()
    assert OutpatientVisit.objects.count() == 3


def test_ids_that_lost_their_leading_zeros_double_the_month_and_are_flagged(world):
    center = world["center"]
    ids = [f"{n:08d}" for n in range(1, 11)]
    import_facts(kind="visits", file=visits_file(center, ids, count="1"), actor=None)
    stripped = [str(int(i)) for i in ids]  # the same visits, after an Excel round trip

    with translation.override("zh-hans"):
        result = import_facts(
            kind="visits", file=visits_file(center, stripped, count="1"), actor=None, dry_run=True
        )

    entry = month(result, center.code, f"{LAST_YEAR}-03")
    assert (entry["before"], entry["after"], entry["new_records"], entry["grows"]) == (
        10,
        20,
        10,
        True,
    )
    assert result.warnings == [
        f"{center.code} {LAST_YEAR}-03：人次将从 10 增至 20（+100 %），来自 10 条新记录。"
        "请确认这些记录未曾以其他编号导入过（例如 Excel 去掉了编号的前导零）。"
    ]


def test_a_corrected_file_and_a_first_import_are_not_flagged(world):
    center = world["center"]
    first = import_facts(kind="visits", file=visits_file(center, ["1", "2"]), actor=None)
    again = import_facts(
        kind="visits", file=visits_file(center, ["1", "2"], count="9"), actor=None, dry_run=True
    )

    assert not any(m["grows"] for m in first.preview["months"] + again.preview["months"])
    assert month(again, center.code, f"{LAST_YEAR}-03")["after"] == 18
    assert again.warnings == []


def test_stays_count_discharges_per_month_and_beds_their_open_beds(world):
    hospital = world["hospital"]
    rows = [
        stay(hospital, "S1", discharge_date=f"{LAST_YEAR}-03-08"),
        stay(hospital, "S2", discharge_date=f"{LAST_YEAR}-04-01"),
        stay(hospital, "S3", discharge_date=""),
    ]

    stays = import_facts(kind="stays", file=csv_file("stays", rows), actor=None, dry_run=True)
    beds_result = import_facts(kind="beds", file=csv_file("beds", [beds(hospital)]), actor=None)

    assert [(m["month"], m["after"]) for m in stays.preview["months"]] == [
        (f"{LAST_YEAR}-03", 1),
        (f"{LAST_YEAR}-04", 1),
    ]
    assert not InpatientStay.objects.exists()
    assert [(m["month"], m["after"]) for m in beds_result.preview["months"]] == [
        (f"{LAST_YEAR}-01", 120)
    ]


# --- through the API ----------------------------------------------------------------------


def post(client, kind, content, query=""):
    upload = SimpleUploadedFile("facts.csv", content, content_type="text/csv")
    return client.post(URL.format(kind) + query, {"file": upload}, format="multipart")


def test_the_api_dry_run_answers_the_preview_and_writes_nothing(api, alliance_office, world):
    content = csv_bytes("visits", [visit(world["center"], "V1"), visit(world["station"], "V2")])

    response = post(api.as_user(alliance_office), "visits", content, "?dry_run=true")

    assert response.status_code == 200
    body = response.json()
    assert (body["dry_run"], body["created"], body["updated"]) == (True, 2, 0)
    assert {m["institution_code"] for m in body["months"]} == {
        world["center"].code,
        world["station"].code,
    }
    assert not OutpatientVisit.objects.exists()


def test_a_large_file_through_the_api_becomes_a_job_with_its_url(
    api, alliance_office, world, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_BYTES = 100
    content = csv_bytes("visits", [visit(world["center"], f"V{n}") for n in range(20)])
    client = api.as_user(alliance_office)

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "visits", content)

    assert response.status_code == 202
    job = Job.objects.get()
    assert response.json()["job"] == job.pk
    assert response["Location"] == f"/api/v1/facts/jobs/{job.pk}/"
    followed = client.get(response["Location"]).json()
    assert (followed["status"], followed["progress_done"]) == ("done", 20)
    assert (followed["result"]["dry_run"], followed["result"]["created"]) == (False, 20)
    assert OutpatientVisit.objects.count() == 20


def test_a_rejected_job_through_the_api_lists_its_rows(
    api, alliance_office, world, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_BYTES = 10
    content = csv_bytes("visits", [visit(world["center"], "V1", total_cost="x")])
    client = api.as_user(alliance_office)

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, "visits", content, "?dry_run=1")

    body = client.get(response["Location"]).json()
    assert body["status"] == "failed"
    assert [(e["row"], e["column"], e["value"]) for e in body["errors"]] == [(2, "total_cost", "x")]


def test_another_alliance_cannot_follow_the_job(api, alliance_office, other_office, world):
    job = Job.objects.create(kind="import", fact_kind="visits", requested_by=alliance_office)

    assert api.as_user(other_office).get(f"/api/v1/facts/jobs/{job.pk}/").status_code == 404
    assert api.as_user(alliance_office).get(f"/api/v1/facts/jobs/{job.pk}/").status_code == 200


# --- confirming on the upload page -----------------------------------------------------------


def test_a_job_is_confirmed_once_and_only_after_its_preview(alliance_office, world):
    from core.errors import IllegalTransition

    queued = Job.objects.create(
        kind="import", fact_kind="visits", requested_by=alliance_office, result={"dry_run": True}
    )
    with pytest.raises(IllegalTransition):
        import_job_confirm(actor=alliance_office, job=queued)

    Job.objects.filter(pk=queued.pk).update(status=JobStatus.DONE)
    confirmed = import_job_confirm(actor=alliance_office, job=queued)
    assert (confirmed.status, confirmed.result["dry_run"]) == (JobStatus.QUEUED, False)
    with pytest.raises(IllegalTransition):
        import_job_confirm(actor=alliance_office, job=queued)


def test_the_detail_page_shows_the_preview_and_the_confirm_button(alliance_office, world):
    from django.test import Client

    result = import_facts(
        kind="visits", file=visits_file(world["center"], ["1"]), actor=None, dry_run=True
    )
    job = Job.objects.create(
        kind="import",
        fact_kind="visits",
        requested_by=alliance_office,
        status=JobStatus.DONE,
        result=result.as_dict(),
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(alliance_office)

    page = client.get(f"/reporting/imports/{job.pk}/").content.decode()

    assert f'action="/reporting/imports/{job.pk}/confirm/"' in page
    assert "确认导入" in page and "已校验，待确认" in page
    assert f'<td class="num">{LAST_YEAR}-03</td>' in page
