"""The pages of the alliance app: login and language, home per role, directory, detail, admin."""

import re

import pytest
from django.contrib import admin
from django.db.models import Q
from django.test import Client
from django.urls import reverse

from alliance.choices import InstitutionKind, Role, Specialty
from alliance.demo import ACCOUNTS, DEMO_PASSWORD, load_demo
from alliance.models import AccessLog, Patient, PatientAccess, SpecialtyNetwork
from core.access import profile_of
from core.models import OutboxMessage, WorkerHeartbeat
from tests.kit.factories import (
    DepartmentFactory,
    HospitalFactory,
    InstitutionFactory,
    PatientFactory,
    StationFactory,
)

pytestmark = pytest.mark.django_db

PATIENT_NAMES = ("张伟", "李芳", "王强", "赵敏")


def logged_in(user, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def listed(response) -> set[str]:
    assert response.status_code == 200
    return {institution.name for institution in response.context["object_list"]}


def figure_after(label: str, html: str) -> int:
    """The first number shown after a label on the page (the figure of a dashboard card)."""
    match = re.search(re.escape(label) + r"(?:<[^>]*>|\s)*([\d,]+)\s*<", html)
    assert match, f"no figure after {label!r}"
    return int(match.group(1).replace(",", ""))


# --- Login and language -----------------------------------------------------------------------


def test_login_page_renders_in_chinese_by_default(browser_client, db):
    response = browser_client.get("/accounts/login/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "用户名" in content or "登录" in content
    assert 'lang="zh-hans"' in content
    assert "Username" not in content
    assert "Log in to your account" not in content


def test_login_page_switches_to_english_through_setlang(browser_client, db):
    switched = browser_client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})

    assert switched.status_code == 302
    content = browser_client.get("/accounts/login/").content.decode()
    assert "Username" in content
    assert "Log in" in content
    assert "用户名" not in content
    assert 'lang="en"' in content


def test_setlang_with_an_unknown_language_keeps_chinese(browser_client, db):
    browser_client.post("/i18n/setlang/", {"language": "xx"})

    content = browser_client.get("/accounts/login/").content.decode()
    assert 'lang="zh-hans"' in content


def test_login_with_a_wrong_password_stays_on_the_login_page(browser_client, clinic_doctor):
    response = browser_client.post(
        "/accounts/login/", {"username": "clinic_doctor", "password": "wrong"}
    )

    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
    assert browser_client.get("/").status_code == 302


def test_login_then_home_shows_the_community_doctors_counts(browser_client, clinic_doctor, world):
    patient = world["patient"]
    patient.signed, patient.signing_institution = True, world["center"]
    patient.signed_on = patient.birth_date.replace(year=2022)
    patient.save()
    browser_client.post("/i18n/setlang/", {"language": "en"})

    login = browser_client.post(
        "/accounts/login/", {"username": "clinic_doctor", "password": "pw-for-tests"}
    )
    assert login.status_code == 302
    assert login["Location"] == "/"
    response = browser_client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert figure_after("Registered residents", html) == 2
    assert figure_after("Family-doctor signed", html) == 1
    assert figure_after("Subordinate units", html) == 1
    assert "临港医联体" in html
    assert "泥城社区卫生服务中心" in html


def test_outsider_home_counts_only_their_own_residents(outsider_clinic_user, world):
    response = logged_in(outsider_clinic_user, "en").get("/")

    assert response.context["patients"].count() == 1
    assert figure_after("Registered residents", response.content.decode()) == 1


def test_bureau_home_shows_aggregates_and_no_patient(bureau_viewer, world):
    response = logged_in(bureau_viewer).get("/")

    assert response.status_code == 200
    html = response.content.decode()
    for name in PATIENT_NAMES:
        assert name not in html
    assert "patients" not in response.context
    # Pudong's care institutions: the hospital, the centre and its station (not the bureau).
    assert response.context["district_summary"]["total"].institutions == 3


def test_bureau_home_in_english_shows_the_district_figures(bureau_viewer, world):
    response = logged_in(bureau_viewer, "en").get("/")

    html = response.content.decode()
    assert figure_after("Institutions", html) == 3
    assert figure_after("Beds", html) == 600 + 50


def test_hospital_home_counts_no_community_residents(hospital_triage, world):
    response = logged_in(hospital_triage).get("/")

    assert response.status_code == 200
    assert response.context["patients"].count() == 0
    for name in PATIENT_NAMES:
        assert name not in response.content.decode()


def test_home_of_an_account_without_a_profile_shows_no_alliance_figures(no_profile_user, world):
    response = logged_in(no_profile_user).get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "临港医联体" not in html
    assert "临港院区" not in html


def test_superuser_home_shows_every_alliance(superuser, world):
    response = logged_in(superuser).get("/")

    assert response.status_code == 200
    assert "临港医联体" in response.content.decode()


@pytest.fixture
def demo(db):
    load_demo()


@pytest.mark.parametrize("username", [*(row[0] for row in ACCOUNTS), "admin"])
def test_every_demo_account_logs_in_and_gets_the_home_of_its_role(demo, username):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")

    login = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
    response = client.get("/", follow=True)  # the security auditor's home is the access log

    assert login.status_code == 302
    assert response.status_code == 200
    user = response.wsgi_request.user
    assert user.get_username() == username
    html = response.content.decode()
    profile = profile_of(user)
    if profile is not None and profile.role == Role.BUREAU_VIEWER:
        assert "patients" not in response.context
        for patient in Patient.objects.all():
            assert patient.name not in html
            assert not patient.id_number or patient.masked_id_number not in html
    elif profile is not None and profile.role == Role.SECURITY_AUDITOR:
        assert response.redirect_chain == [("/alliance/audit/", 302)]
        assert "访问日志" in html and not any(p.name in html for p in Patient.objects.all())
    elif profile is not None:
        assert response.context["patients"].count() == Patient.objects.restrict(user).count()
        assert profile.institution.name in html


def test_demo_community_doctor_sees_only_the_residents_of_their_centre(demo):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/accounts/login/", {"username": "nicheng", "password": DEMO_PASSWORD})

    response = client.get("/")

    profile = response.wsgi_request.user.staff_profile
    centre = profile.institution
    expected = Patient.objects.filter(
        Q(home_institution=centre)
        | Q(home_institution__parent=centre)
        | Q(home_institution__parent__parent=centre)
    ).count()
    assert expected > 0
    assert figure_after("Registered residents", response.content.decode()) == expected


# --- Institution directory --------------------------------------------------------------------


@pytest.mark.parametrize("page", ["abc", "0", "999"])
def test_directory_with_a_bad_page_number_is_a_404_page(clinic_doctor, world, page):
    response = logged_in(clinic_doctor).get("/alliance/institutions/", {"page": page})

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_directory_with_an_invalid_filter_is_not_a_server_error(clinic_doctor, world):
    response = logged_in(clinic_doctor).get(
        "/alliance/institutions/", {"kind": "bogus", "district": "abc", "tier": "x"}
    )

    assert response.status_code == 200
    assert response.context["filter"].errors


@pytest.mark.parametrize("alliance", ["abc", "1.5", "99999999999999999999999"])
def test_directory_with_an_out_of_range_alliance_id_is_not_a_server_error(
    clinic_doctor, world, alliance
):
    response = logged_in(clinic_doctor).get("/alliance/institutions/", {"alliance": alliance})

    assert response.status_code == 200
    assert "alliance" in response.context["filter"].errors


def test_directory_filters_by_alliance(clinic_doctor, world):
    response = logged_in(clinic_doctor).get(
        "/alliance/institutions/", {"alliance": world["alliance"].pk}
    )

    assert listed(response) == {
        "临港院区",
        "泥城社区卫生服务中心",
        "泥城镇公平村卫生室",
        "四团平安社区卫生服务中心",
    }


def test_directory_of_an_account_without_a_profile_is_empty(no_profile_user, world):
    response = logged_in(no_profile_user).get("/alliance/institutions/")

    assert listed(response) == set()


def test_directory_finds_the_hospital_by_a_chinese_department_name(clinic_doctor, world):
    response = logged_in(clinic_doctor).get("/alliance/institutions/", {"q": "心内科"})

    assert listed(response) == {"临港院区"}
    html = response.content.decode()
    assert "心内科（胸痛中心）" in html
    assert "021-38297001" in html
    assert "13901700001" in html


def test_directory_finds_a_hospital_by_the_chinese_specialty_label(clinic_doctor, world):
    other = HospitalFactory(name="奉贤区中心医院", district=world["fengxian"])
    DepartmentFactory(institution=other, name="一病区", specialty=Specialty.ENDOCRINOLOGY)

    response = logged_in(clinic_doctor).get("/alliance/institutions/", {"q": "内分泌"})

    assert listed(response) == {"奉贤区中心医院"}
    assert "一病区" in response.content.decode()


def test_directory_filters_by_district_and_kind(clinic_doctor, world):
    client = logged_in(clinic_doctor)

    fengxian = client.get("/alliance/institutions/", {"district": world["fengxian"].pk})
    clinics = client.get("/alliance/institutions/", {"kind": InstitutionKind.VILLAGE_CLINIC})
    both = client.get(
        "/alliance/institutions/",
        {"district": world["fengxian"].pk, "kind": InstitutionKind.TERTIARY_HOSPITAL},
    )

    assert listed(fengxian) == {"四团平安社区卫生服务中心", "联盟外社区卫生服务中心"}
    assert listed(clinics) == {"泥城镇公平村卫生室"}
    assert listed(both) == set()


def test_directory_hides_inactive_departments(clinic_doctor, world):
    DepartmentFactory(institution=world["hospital"], name="已撤销科室", is_active=False)

    response = logged_in(clinic_doctor).get("/alliance/institutions/")

    assert "已撤销科室" not in response.content.decode()
    assert "心内科（胸痛中心）" in response.content.decode()


def test_directory_paginates_by_twenty(clinic_doctor, world):
    InstitutionFactory.create_batch(30, district=world["pudong"])

    first = logged_in(clinic_doctor).get("/alliance/institutions/")
    second = logged_in(clinic_doctor).get("/alliance/institutions/", {"page": 2})

    assert len(first.context["object_list"]) == 20
    assert len(second.context["object_list"]) == 36 - 20


# --- Institution detail -----------------------------------------------------------------------


def test_unknown_institution_is_a_404_page(clinic_doctor, world):
    response = logged_in(clinic_doctor).get("/alliance/institutions/999999/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "404" in response.content.decode()


def test_institution_detail_shows_departments_and_phones(clinic_doctor, world):
    hospital = world["hospital"]
    hospital.phone = "021-38290000"
    hospital.save()
    DepartmentFactory(
        institution=hospital,
        name="内分泌科",
        specialty=Specialty.ENDOCRINOLOGY,
        phone="021-38297002",
        on_duty_phone="13901700002",
        head="周主任",
    )
    DepartmentFactory(institution=hospital, name="已撤销科室", is_active=False)

    response = logged_in(clinic_doctor).get(f"/alliance/institutions/{hospital.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "临港院区" in html
    assert "021-38290000" in html
    for text in ("心内科（胸痛中心）", "021-38297001", "13901700001"):
        assert text in html
    for text in ("内分泌科", "021-38297002", "13901700002", "周主任"):
        assert text in html
    assert "已撤销科室" not in html
    assert "临港医联体" in html


def test_station_detail_links_to_its_centre_and_the_centre_lists_it(clinic_doctor, world):
    client = logged_in(clinic_doctor)
    station, center = world["station"], world["center"]

    station_page = client.get(f"/alliance/institutions/{station.pk}/").content.decode()
    center_page = client.get(f"/alliance/institutions/{center.pk}/").content.decode()

    assert f'href="/alliance/institutions/{center.pk}/"' in station_page
    assert f'href="/alliance/institutions/{station.pk}/"' in center_page


def test_institution_detail_shows_its_specialty_networks(clinic_doctor, world):
    network = SpecialtyNetwork.objects.create(
        alliance=world["alliance"], name="胸痛专科联盟", specialty=Specialty.CARDIOLOGY
    )
    network.departments.add(world["cardiology"])

    response = logged_in(clinic_doctor).get(f"/alliance/institutions/{world['hospital'].pk}/")

    assert "胸痛专科联盟" in response.content.decode()


def test_institution_detail_shows_no_patient(clinic_doctor, world):
    response = logged_in(clinic_doctor).get(f"/alliance/institutions/{world['center'].pk}/")

    for name in PATIENT_NAMES:
        assert name not in response.content.decode()


# --- Admin ------------------------------------------------------------------------------------

ALLIANCE_ADMIN_MODELS = [
    model
    for model in admin.site._registry
    if model._meta.app_label == "alliance" or model._meta.label == "auth.User"
]


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def every_model_has_a_row(world, superuser, clinic_doctor):
    network = SpecialtyNetwork.objects.create(
        alliance=world["alliance"],
        name="胸痛专科联盟",
        specialty=Specialty.CARDIOLOGY,
        lead_department=world["cardiology"],
    )
    network.departments.add(world["cardiology"])
    AccessLog.objects.create(patient=world["patient"], user=clinic_doctor, kind="patient_view")
    PatientAccess.objects.create(
        institution=world["hospital"],
        patient=world["patient"],
        reason="referral_receiver",
        source_label="referrals.referral",
        source_pk=1,
    )
    WorkerHeartbeat.objects.create(hostname="worker@test", seen_at="2025-01-01T08:00:00+08:00")
    OutboxMessage.objects.create(task="alliance.tasks.record_worker_heartbeat")


@pytest.mark.parametrize("model", ALLIANCE_ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_admin_changelist_add_and_change_pages_load_for_the_superuser(
    model, superuser, every_model_has_a_row
):
    client = logged_in(superuser)
    model_admin = admin.site._registry[model]
    obj = model.objects.order_by("pk").first()
    assert obj is not None

    changelist = client.get(admin_url(model, "changelist"))
    add = client.get(admin_url(model, "add"))
    change = client.get(admin_url(model, "change", obj.pk))

    assert changelist.status_code == 200
    assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)
    assert change.status_code == 200


@pytest.mark.parametrize("model", ALLIANCE_ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_admin_changelist_search_does_not_fail(model, superuser, every_model_has_a_row):
    response = logged_in(superuser).get(admin_url(model, "changelist"), {"q": "临港"})

    assert response.status_code == 200


def test_admin_lists_patients_with_masked_identity_numbers(superuser, world):
    response = logged_in(superuser).get(admin_url(world["patient"].__class__, "changelist"))

    html = response.content.decode()
    assert "张伟" in html
    for key in ("patient", "station_patient", "other_patient", "foreign_patient"):
        assert world[key].id_number not in html


def test_a_staff_account_that_is_not_a_superuser_cannot_use_the_admin(clinic_doctor, world):
    clinic_doctor.is_staff = True
    clinic_doctor.save()

    response = logged_in(clinic_doctor).get(admin_url(world["patient"].__class__, "changelist"))

    assert response.status_code == 403


# --- Query counts -----------------------------------------------------------------------------


def more_institutions(world, n: int = 30) -> None:
    for i in range(n):
        centre = InstitutionFactory(district=world["fengxian"] if i % 2 else world["pudong"])
        StationFactory(parent=centre, district=centre.district)
        DepartmentFactory(institution=centre, name=f"全科{i}")
        DepartmentFactory(institution=centre, name=f"心内科{i}")
        PatientFactory(home_institution=centre)


@pytest.mark.parametrize(
    ("params", "limit"),
    # session, user, staff profile, count, page, departments, districts of the filter form ...
    [({}, 10), ({"q": "心内科"}, 10), ({"district": "pudong", "kind": "community_center"}, 11)],
)
@pytest.mark.parametrize("persona", ["clinic_doctor", "superuser"], indirect=True)
def test_directory_query_count_does_not_grow_with_rows(
    persona, world, django_assert_max_num_queries, params, limit
):
    client = logged_in(persona)
    params = {k: world[v].pk if v in world else v for k, v in params.items()}

    with django_assert_max_num_queries(limit) as few:
        assert client.get("/alliance/institutions/", params).status_code == 200
    more_institutions(world)
    with django_assert_max_num_queries(limit) as more:
        response = client.get("/alliance/institutions/", params)

    assert len(response.context["object_list"]) > 1
    assert len(more) == len(few)


@pytest.mark.parametrize(
    ("persona", "limit"),
    [("clinic_doctor", 29), ("alliance_office", 18), ("bureau_viewer", 12), ("superuser", 7)],
    indirect=["persona"],
)
def test_home_query_count_does_not_grow_with_rows(
    persona, world, django_assert_max_num_queries, limit
):
    client = logged_in(persona)

    with django_assert_max_num_queries(limit) as few:
        assert client.get("/").status_code == 200
    more_institutions(world)
    with django_assert_max_num_queries(limit) as more:
        assert client.get("/").status_code == 200

    assert len(more) == len(few)


def test_institution_detail_query_count_does_not_grow_with_departments(
    clinic_doctor, world, django_assert_max_num_queries
):
    client = logged_in(clinic_doctor)
    url = f"/alliance/institutions/{world['center'].pk}/"

    with django_assert_max_num_queries(11) as few:
        assert client.get(url).status_code == 200
    for i in range(30):
        DepartmentFactory(institution=world["center"], name=f"科室{i}")
        StationFactory(parent=world["center"], district=world["pudong"])
    with django_assert_max_num_queries(11) as more:
        assert client.get(url).status_code == 200

    assert len(more) == len(few)
