"""Every view of patient data is in the access log (issue 13, item 12): opening a referral, an
exam order or its report, an attachment, a list page, and every API read of them writes ONE
row naming the records shown and their patients; a refused or empty answer writes none.

The pages and the API are walked through the real middleware: the row is the one the request
being served leaves behind."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, InternalError, transaction
from django.test import Client
from django.utils import translation

from alliance.choices import Role
from alliance.models import AccessLog, Patient
from core.choices import AccessKind
from referrals import services as referral_services
from referrals.models import Referral
from sharedcenters import services
from tests.conftest import require_postgres
from tests.kit.factories import PatientFactory, staff_user
from tests.referrals.conftest import payload
from tests.sharedcenters.conftest import NORMAL_RESULTS

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
REFERRAL = "referrals.referral"
ORDER = "sharedcenters.examorder"
PATIENT = "alliance.patient"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def auditor(world):
    return staff_user(Role.SECURITY_AUDITOR, world["hospital"], username="auditor_user")


def page_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def new_referral(world, actor, patient=None) -> Referral:
    data = payload(world) | {
        "patient": patient or world["patient"],
        "to_institution": world["hospital"],
        "to_department": world["cardiology"],
    }
    referral, _created = referral_services.referral_create(actor=actor, submit=True, **data)
    return referral


@pytest.fixture
def referral(world, clinic_doctor):
    return new_referral(world, clinic_doctor)


@pytest.fixture
def attachment(referral, clinic_doctor):
    upload = SimpleUploadedFile("心电图.pdf", PDF, content_type="application/pdf")
    return referral_services.referral_attach(actor=clinic_doctor, referral=referral, upload=upload)


@pytest.fixture
def reported_order(make_order, clinic_doctor, center_staff):
    order = services.order_collect(actor=clinic_doctor, order=make_order("lab"))
    for step in (services.order_receive, services.order_start):
        order = step(actor=center_staff, order=order)
    return services.order_report(actor=center_staff, order=order, results=NORMAL_RESULTS)


def new_rows(since: int):
    return list(AccessLog.objects.filter(pk__gt=since).order_by("pk"))


def last_pk() -> int:
    return AccessLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def the_one_row(since: int) -> AccessLog:
    rows = new_rows(since)
    assert len(rows) == 1, [(r.kind, r.path, r.records) for r in rows]
    return rows[0]


# --- opening one record ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "url", "kind"),
    [
        ("page", "/referrals/{r}/", AccessKind.RECORD_VIEW),
        ("page", "/referrals/{r}/slip/", AccessKind.RECORD_VIEW),
        ("api", "/api/v1/referrals/{r}/", AccessKind.RECORD_VIEW),
        ("api", "/api/v1/referrals/{r}/events/", AccessKind.RECORD_VIEW),
        ("api", "/api/v1/referrals/{r}/attachments/", AccessKind.RECORD_VIEW),
        ("page", "/referrals/{r}/attachments/{a}/", AccessKind.FILE_DOWNLOAD),
        ("api", "/api/v1/referrals/{r}/attachments/{a}/", AccessKind.FILE_DOWNLOAD),
    ],
)
def test_opening_a_referral_or_its_attachment_writes_one_row_naming_it_and_its_patient(
    world, referral, attachment, hospital_triage, api, channel, url, kind
):
    client = page_client(hospital_triage) if channel == "page" else api.as_user(hospital_triage)
    since = last_pk()
    response = client.get(url.format(r=referral.pk, a=attachment.pk))
    assert response.status_code == 200
    row = the_one_row(since)
    assert (row.kind, row.user, row.patient, row.patient_ids) == (
        kind,
        hospital_triage,
        world["patient"],
        [world["patient"].pk],
    )
    assert row.records[REFERRAL] == [referral.pk]
    if kind == AccessKind.FILE_DOWNLOAD:
        assert row.records["referrals.referralattachment"] == [attachment.pk]
    assert row.path == url.format(r=referral.pk, a=attachment.pk) and row.method == "GET"
    assert row.ip_address == "127.0.0.1"
    assert row.detail["channel"] == ("api" if channel == "api" else "web")


@pytest.mark.parametrize(
    ("channel", "url"),
    [
        ("page", "/centers/orders/{o}/"),
        ("page", "/centers/orders/{o}/report/"),
        ("api", "/api/v1/orders/{o}/"),
        ("api", "/api/v1/orders/{o}/events/"),
    ],
)
def test_opening_an_order_or_its_report_writes_one_row_naming_it_and_its_patient(
    world, reported_order, clinic_doctor, api, channel, url
):
    client = page_client(clinic_doctor) if channel == "page" else api.as_user(clinic_doctor)
    since = last_pk()
    assert client.get(url.format(o=reported_order.pk)).status_code == 200
    row = the_one_row(since)
    assert (row.kind, row.user_id, row.patient_id, row.records) == (
        AccessKind.RECORD_VIEW,
        clinic_doctor.pk,
        world["patient"].pk,
        {ORDER: [reported_order.pk]},
    )


def test_a_printed_report_says_it_was_printed_as_a_pdf(world, reported_order, clinic_doctor):
    client = page_client(clinic_doctor)
    since = last_pk()
    response = client.get(f"/centers/orders/{reported_order.pk}/report/?format=pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    row = the_one_row(since)
    assert (row.kind, row.patient_id, row.records) == (
        AccessKind.DOCUMENT,
        world["patient"].pk,
        {ORDER: [reported_order.pk]},
    )
    assert row.detail["format"] == "pdf"
    assert row.detail["document"] == f"report-{reported_order.number}.pdf"


def test_a_patients_record_writes_one_row_through_the_api(world, clinic_doctor, api):
    since = last_pk()
    patient = world["patient"]
    assert api.as_user(clinic_doctor).get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    row = the_one_row(since)
    assert (row.kind, row.patient_id, row.records) == (
        AccessKind.PATIENT_VIEW,
        patient.pk,
        {PATIENT: [patient.pk]},
    )


# --- lists: one row a page ---------------------------------------------------------------------


def test_a_list_of_twenty_referrals_writes_one_row_naming_all_and_their_patients(
    world, clinic_doctor, hospital_triage, api
):
    patients = PatientFactory.create_batch(20, home_institution=world["center"])
    referrals = [new_referral(world, clinic_doctor, patient) for patient in patients]
    for client, url in (
        (page_client(hospital_triage), "/referrals/"),
        (api.as_user(hospital_triage), "/api/v1/referrals/?page_size=50"),
    ):
        since = last_pk()
        assert client.get(url).status_code == 200
        row = the_one_row(since)
        assert row.kind == AccessKind.LIST_VIEW and row.user == hospital_triage
        assert sorted(row.records[REFERRAL]) == sorted(r.pk for r in referrals)
        assert sorted(row.patient_ids) == sorted(p.pk for p in patients)
        assert row.patient is None  # many patients: the list names them, no single one
        with translation.override("en"):  # the export names all 20, the page the first 8
            assert all(f"#{r.pk}" in row.summary for r in referrals)
            assert "and 12 more" in row.short_summary


@pytest.mark.parametrize(
    ("channel", "url", "label"),
    [
        ("page", "/referrals/incoming/", REFERRAL),
        ("page", "/centers/orders/", ORDER),
        ("page", "/centers/worklist/", ORDER),
        ("page", "/alliance/patients/", PATIENT),
        ("api", "/api/v1/orders/", ORDER),
        ("api", "/api/v1/patients/", PATIENT),
    ],
)
def test_every_list_page_and_list_answer_writes_one_row(
    world, clinic_doctor, center_staff, hospital_triage, make_order, api, channel, url, label
):
    new_referral(world, clinic_doctor)
    orders = [make_order("lab"), make_order("lab", patient=world["station_patient"])]
    user = {
        "/referrals/incoming/": hospital_triage,
        "/centers/worklist/": center_staff,
    }.get(url, clinic_doctor)
    client = page_client(user) if channel == "page" else api.as_user(user)
    since = last_pk()
    assert client.get(url).status_code == 200
    row = the_one_row(since)
    assert row.kind == AccessKind.LIST_VIEW and row.user == user
    if label == ORDER:
        assert sorted(row.records[ORDER]) == sorted(o.pk for o in orders)
    if label == PATIENT:
        visible = Patient.objects.restrict(clinic_doctor).values_list("pk", flat=True)
        assert sorted(row.records[PATIENT]) == sorted(visible) == sorted(row.patient_ids)


def test_a_posted_patient_search_writes_one_row_naming_what_it_found(world, clinic_doctor):
    client = page_client(clinic_doctor)
    since = last_pk()
    response = client.post("/alliance/patients/", {"find": "张伟"})
    assert response.status_code == 200
    row = the_one_row(since)
    assert (row.kind, row.method, row.patient_ids) == (
        AccessKind.LIST_VIEW,
        "POST",
        [world["patient"].pk],
    )


# --- nothing shown, nothing written -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/referrals/",
        "/referrals/{r}/",
        "/centers/orders/",
        "/centers/orders/{o}/",
        "/alliance/patients/",
        "/api/v1/referrals/",
        "/api/v1/referrals/{r}/",
        "/api/v1/orders/",
        "/api/v1/orders/{o}/",
        "/api/v1/patients/",
        "/api/v1/referrals/{r}/attachments/{a}/",
    ],
)
@pytest.mark.parametrize("persona", ["bureau_viewer", "auditor", "outsider_clinic_user"])
def test_who_may_not_see_the_records_leaves_no_row(
    request, world, referral, attachment, make_order, api, url, persona
):
    """The bureau and the auditor write nothing; another center only rows of its own patients
    (its patient list), never one naming the records it may not see."""
    order = make_order("lab")
    user = request.getfixturevalue(persona)
    path = url.format(r=referral.pk, o=order.pk, a=attachment.pk)
    client = api.as_user(user) if path.startswith("/api/") else page_client(user)
    since = last_pk()
    response = client.get(path)
    assert response.status_code in (200, 403, 404)
    rows = [r for r in new_rows(since) if r.kind != AccessKind.DENIED]
    if persona != "outsider_clinic_user":
        assert rows == []
    for row in rows:
        assert world["patient"].pk not in row.patient_ids
        assert row.records == {PATIENT: [world["other_patient"].pk]}


def test_a_transition_is_no_view(world, referral, hospital_triage, api):
    since = last_pk()
    response = api.as_user(hospital_triage).post(f"/api/v1/referrals/{referral.pk}/accept/", {})
    assert response.status_code == 200
    assert new_rows(since) == []


# --- the auditor finds list rows by patient ----------------------------------------------------


def test_a_search_by_patient_finds_the_lists_that_showed_them(
    world, clinic_doctor, hospital_triage, auditor
):
    new_referral(world, clinic_doctor)
    new_referral(world, clinic_doctor, world["station_patient"])
    page_client(hospital_triage).get("/referrals/")
    listed = AccessLog.objects.get(kind=AccessKind.LIST_VIEW)
    assert listed.patient is None and len(listed.patient_ids) == 2
    auditor_client = page_client(auditor)
    for query in (world["station_patient"].name, str(world["station_patient"].pk)):
        found = auditor_client.get("/alliance/audit/", {"patient": query}).context["object_list"]
        assert listed in list(found)
    other = auditor_client.get("/alliance/audit/", {"patient": world["other_patient"].name})
    assert listed not in list(other.context["object_list"])


def test_the_records_a_row_names_cannot_be_rewritten(world, referral, hospital_triage):
    """The new columns are under the table's append-only trigger like the others."""
    require_postgres()
    page_client(hospital_triage).get(f"/referrals/{referral.pk}/")
    row = AccessLog.objects.get(kind=AccessKind.RECORD_VIEW)
    with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
        AccessLog.objects.filter(pk=row.pk).update(patient_ids=[], records={})
    row.refresh_from_db()
    assert row.patient_ids == [world["patient"].pk]
