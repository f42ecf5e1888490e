"""POST /api/v1/facts/{kind}/import/: the alliance office uploads a file and gets the counts,
or a 400 listing every bad row; everyone else gets a JSON 403 and nothing is written."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator

from reporting.choices import JobStatus
from reporting.models import InpatientStay, Job, OutpatientVisit

from .conftest import csv_bytes, stay, visit, xlsx_bytes

pytestmark = pytest.mark.django_db

URL = "/api/v1/facts/{}/import/"


def post(client, kind: str, content: bytes, name: str = "facts.csv", query: str = ""):
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(URL.format(kind) + query, {"file": upload}, format="multipart")


def counts(response) -> dict:
    return {key: response.json()[key] for key in ("created", "updated", "dry_run")}


def test_the_office_imports_a_file_and_gets_the_counts(api, alliance_office, world):
    content = csv_bytes("visits", [visit(world["center"], "V1"), visit(world["station"], "V2")])

    first = post(api.as_user(alliance_office), "visits", content)
    second = post(api.as_user(alliance_office), "visits", content)

    assert first.status_code == 200, first.json()
    assert counts(first) == {"created": 2, "updated": 0, "dry_run": False}
    assert counts(second) == {"created": 0, "updated": 2, "dry_run": False}
    assert OutpatientVisit.objects.count() == 2


def test_a_small_file_is_imported_by_a_job_and_answered_from_it(api, alliance_office, world):
    # The web process never imports: the job does (in a worker; here, in-process as Celery's
    # eager mode runs it), and the answer is what the job stored.
    good = csv_bytes("visits", [visit(world["center"], "V1")])
    bad = csv_bytes("visits", [visit(world["center"], "V2", visit_date="2024-13-01")])

    response = post(api.as_user(alliance_office), "visits", good)
    rejected = post(api.as_user(alliance_office), "visits", bad)

    done, failed = Job.objects.order_by("pk")
    assert response.status_code == 200 and (done.status, done.result) == (
        JobStatus.DONE,
        response.json(),
    )
    assert done.requested_by == alliance_office and done.file_name == "facts.csv"
    assert rejected.status_code == 400 and failed.status == JobStatus.FAILED
    assert rejected.json()["errors"] == failed.errors and failed.errors[0]["row"] == 2


def test_a_gb18030_workbook_export_and_an_xlsx_both_import(api, alliance_office, world):
    gbk = csv_bytes("stays", [stay(world["hospital"], "S1")], encoding="gb18030")
    xlsx = xlsx_bytes("stays", [stay(world["hospital"], "S2")])

    assert counts(post(api.as_user(alliance_office), "stays", gbk))["created"] == 1
    response = post(api.as_user(alliance_office), "stays", xlsx, name="stays.xlsx")
    assert counts(response)["created"] == 1
    assert set(InpatientStay.objects.values_list("department", flat=True)) == {"心内科"}


def test_a_rejected_file_answers_400_with_every_bad_row(api, alliance_office, world):
    rows = [
        visit(world["center"], "V1"),
        visit(world["center"], "V2", visit_date="2024-13-01"),
        visit(world["center"], "V3", visit_count="two", total_cost="-1"),
    ]

    response = post(api.as_user(alliance_office), "visits", csv_bytes("visits", rows))

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "error_count", "errors", "errors_omitted"}
    assert body["errors_omitted"] == 0
    assert body["detail"]
    assert body["error_count"] == 2
    assert [(e["row"], e["column"]) for e in body["errors"]] == [
        (3, "visit_date"),
        (4, "visit_count"),
        (4, "total_cost"),
    ]
    assert all(
        set(e) == {"row", "column", "value", "problem", "message"} and e["message"]
        for e in body["errors"]
    )
    assert body["errors"][0]["value"] == "2024-13-01"
    assert body["errors"][0]["message"].startswith("第 3 行 visit_date：“2024-13-01”")
    assert not OutpatientVisit.objects.exists()


def test_a_wrong_header_answers_400_on_row_one(api, alliance_office, world):
    content = csv_bytes("beds", [visit(world["center"])], header=["code", "date", "beds"])

    response = post(api.as_user(alliance_office), "beds", content)

    assert response.status_code == 400
    assert {e["row"] for e in response.json()["errors"]} == {1}


def test_the_office_gets_row_errors_for_institutions_of_another_alliance(api, other_office, world):
    rows = [visit(world["foreign_center"], "V1"), visit(world["center"], "V2")]

    response = post(api.as_user(other_office), "visits", csv_bytes("visits", rows))

    assert response.status_code == 400
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(3, "institution_code")]
    assert not OutpatientVisit.objects.exists()


def test_a_superuser_imports_for_any_institution(api, superuser, world):
    content = csv_bytes("visits", [visit(world["foreign_center"]), visit(world["center"], "V2")])

    assert counts(post(api.as_user(superuser), "visits", content))["created"] == 2


@pytest.mark.parametrize(
    "persona",
    ["clinic_doctor", "hospital_triage", "center_staff", "bureau_viewer", "no_profile_user"],
    indirect=True,
)
def test_other_roles_get_a_json_403_and_nothing_is_written(api, persona, world):
    response = post(api.as_user(persona), "visits", csv_bytes("visits", [visit(world["center"])]))

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
    assert not OutpatientVisit.objects.exists()


def test_without_a_token_the_answer_is_401(api, world):
    response = post(api, "visits", csv_bytes("visits", [visit(world["center"])]))

    assert response.status_code == 401
    assert not OutpatientVisit.objects.exists()


def test_an_unknown_kind_is_a_json_404(api, alliance_office, world):
    response = post(api.as_user(alliance_office), "patients", b"x")

    assert response.status_code == 404
    assert response.json()["detail"]


def test_a_request_without_the_file_is_a_400_in_the_same_shape(api, alliance_office, world):
    response = api.as_user(alliance_office).post(
        URL.format("visits"), {"other": "x"}, format="multipart"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"detail", "error_count", "errors", "errors_omitted"}
    assert response.json()["errors"] == []
    assert response.json()["detail"]


def test_the_schema_documents_the_multipart_upload_and_both_answers():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/facts/{kind}/import/"]["post"]

    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"200", "400"} <= set(operation["responses"])
    kind = next(p for p in operation["parameters"] if p["name"] == "kind")
    assert set(kind["schema"]["enum"]) == {"visits", "stays", "beds", "referrals"}
