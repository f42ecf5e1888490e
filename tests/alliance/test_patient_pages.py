"""The patient pages: register, find, view (audited, number masked), reveal the number (audited),
change; who may do what. Unhappy paths first."""

import re

import pytest
from django.test import Client

from alliance.models import AccessLog, Patient
from core.choices import AccessKind
from tests.kit.factories import valid_id_number

LIST, NEW = "/alliance/patients/", "/alliance/patients/new/"


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def form_data(world, **overrides) -> dict:
    return {
        "name": "欧阳测试",
        "gender": "female",
        "birth_date": "1995-05-17",
        "id_number": valid_id_number(41, male=False),
        "phone": "13800007777",
        "address": "泥城镇新城路8号",
        "home_institution": world["center"].pk,
    } | overrides


def test_registering_with_bad_fields_shows_chinese_field_errors_and_writes_nothing(
    world, clinic_doctor
):
    response = logged_in(clinic_doctor).post(
        NEW,
        form_data(world, id_type="passport", id_number="E1234567", phone="12", birth_date=""),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) >= {"birth_date", "phone"}
    assert errors["birth_date"] == ["请填写出生日期：该证件上没有出生日期。"]
    assert not Patient.objects.filter(name="欧阳测试").exists()
    bad_number = logged_in(clinic_doctor).post(NEW, form_data(world, id_number="123"))
    assert "id_number" in bad_number.context["form"].errors
    assert not Patient.objects.filter(name="欧阳测试").exists()


def test_a_duplicate_identity_number_is_refused_without_saying_where(world, clinic_doctor):
    response = logged_in(clinic_doctor).post(
        NEW, form_data(world, id_number=world["foreign_patient"].id_number)
    )
    assert response.status_code == 200
    text = " ".join(response.context["form"].non_field_errors())
    assert "已在医联体内建档" in text and world["foreign_center"].name not in text


def test_another_institutions_residents_cannot_be_registered(world, clinic_doctor):
    response = logged_in(clinic_doctor).post(
        NEW, form_data(world, home_institution=world["other_center"].pk)
    )
    assert "home_institution" in response.context["form"].errors
    assert not Patient.objects.filter(name="欧阳测试").exists()


@pytest.mark.parametrize("persona", ["bureau_viewer", "no_profile_user"])
def test_the_bureau_and_accounts_without_a_role_reach_no_patient_page(persona, request, world):
    client = logged_in(request.getfixturevalue(persona))
    patient = world["patient"]
    for url in (LIST, NEW, f"{LIST}{patient.pk}/", f"{LIST}{patient.pk}/edit/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"{LIST}{patient.pk}/").status_code == 403
    assert not AccessLog.objects.filter(patient=patient).exists()


def test_a_record_of_another_institution_is_not_found(world, clinic_doctor):
    client = logged_in(clinic_doctor)
    other = world["foreign_patient"]
    assert client.get(f"{LIST}{other.pk}/").status_code == 404
    assert client.post(f"{LIST}{other.pk}/").status_code == 404
    assert client.get(f"{LIST}{other.pk}/edit/").status_code == 404
    assert client.post(f"{LIST}{other.pk}/edit/", {"name": "改名", "phone": ""}).status_code == 404
    other.refresh_from_db()
    assert other.name != "改名"
    assert not AccessLog.objects.filter(patient=other).exists()


def test_registering_shows_the_record_with_the_number_masked(world, clinic_doctor):
    client = logged_in(clinic_doctor)
    data = form_data(world)
    response = client.post(NEW, data)
    patient = Patient.objects.get(name="欧阳测试")
    assert response.url == f"{LIST}{patient.pk}/"
    page = client.get(response.url).content.decode()
    assert patient.masked_id_number in page and data["id_number"] not in page
    assert list(
        AccessLog.objects.filter(patient=patient).order_by("pk").values_list("kind", "detail")
    ) == [
        (AccessKind.PATIENT_CREATE, {"channel": "web"}),
        (AccessKind.PATIENT_VIEW, {"channel": "web"}),
    ]


def test_the_show_button_reveals_the_number_once_and_logs_it(world, clinic_doctor):
    patient = world["patient"]
    client = logged_in(clinic_doctor)
    response = client.post(f"{LIST}{patient.pk}/")
    assert response.status_code == 200
    assert patient.id_number in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert (
        AccessLog.objects.filter(
            patient=patient, user=clinic_doctor, kind=AccessKind.PATIENT_REVEAL_ID
        ).count()
        == 1
    )
    assert patient.id_number not in client.get(f"{LIST}{patient.pk}/").content.decode()


def test_the_list_shows_masked_numbers_and_the_search_posts(world, clinic_doctor):
    client = logged_in(clinic_doctor)
    patient = world["patient"]
    page = client.get(LIST).content.decode()
    assert patient.masked_id_number in page and patient.id_number not in page
    assert world["foreign_patient"].name not in page
    found = client.post(LIST, {"find": patient.id_number})
    assert [p.pk for p in found.context["object_list"]] == [patient.pk]
    assert patient.id_number not in " ".join(re.findall(r'href="[^"]*"', found.content.decode()))


def test_changing_the_record_keeps_the_number_out_of_the_form_and_is_logged(world, clinic_doctor):
    patient = world["patient"]
    client = logged_in(clinic_doctor)
    form = client.get(f"{LIST}{patient.pk}/edit/")
    assert "id_number" not in form.context["form"].fields
    assert patient.id_number not in form.content.decode()
    data = form_data(
        world,
        name=patient.name,
        gender=patient.gender,
        birth_date=patient.birth_date.isoformat(),
        phone="13900001111",
    )
    data.pop("id_number")
    response = client.post(f"{LIST}{patient.pk}/edit/", data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.phone == "13900001111"
    change = AccessLog.objects.get(patient=patient, kind=AccessKind.PATIENT_UPDATE)
    assert "phone" in change.detail["fields"]


def test_the_list_runs_a_fixed_number_of_queries(
    world, clinic_doctor, django_assert_max_num_queries
):
    from tests.kit.factories import PatientFactory

    client = logged_in(clinic_doctor)
    client.get(LIST)
    with django_assert_max_num_queries(12) as few:
        client.get(LIST)
    for _ in range(10):
        PatientFactory(home_institution=world["center"])
    with django_assert_max_num_queries(12) as many:
        client.get(LIST)
    assert len(many) == len(few)
