"""`restrict(user)` for every role: the one mechanism every later app reuses."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser

from alliance.models import Department, Institution, Membership, Patient
from tests.conftest import PERSONAS

VISIBLE_PATIENTS = {
    "clinic_doctor": {"patient", "station_patient"},
    "outsider_clinic_user": {"other_patient"},
    "hospital_triage": set(),
    "center_staff": set(),
    "alliance_office": {"patient", "station_patient", "other_patient"},
    "bureau_viewer": set(),
    "no_profile_user": set(),
    "superuser": {"patient", "station_patient", "other_patient", "foreign_patient"},
}


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_each_role_sees_exactly_its_patients(world, persona, request):
    expected = VISIBLE_PATIENTS[request.node.callspec.params["persona"]]
    visible = set(Patient.objects.restrict(persona).values_list("pk", flat=True))
    assert visible == {world[key].pk for key in expected}


def test_anonymous_users_see_nothing(world):
    anonymous = AnonymousUser()
    assert not Patient.objects.restrict(anonymous).exists()
    assert not Institution.objects.restrict(anonymous).exists()


def test_a_deactivated_user_sees_nothing(world, clinic_doctor):
    clinic_doctor.is_active = False
    clinic_doctor.save()
    assert not Patient.objects.restrict(clinic_doctor).exists()
    assert not Institution.objects.restrict(clinic_doctor).exists()


def test_users_without_a_staff_profile_see_no_reference_data(world, no_profile_user):
    assert not Institution.objects.restrict(no_profile_user).exists()
    assert not Department.objects.restrict(no_profile_user).exists()


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "no_profile_user"], indirect=True)
def test_staff_of_every_role_see_the_whole_directory(world, persona):
    assert Institution.objects.restrict(persona).count() == Institution.objects.count()
    assert Department.objects.restrict(persona).count() == Department.objects.count()


def test_the_office_loses_sight_of_a_member_that_left(world, alliance_office):
    Membership.objects.filter(institution=world["other_center"]).update(
        left_on=datetime.date(2021, 1, 1)
    )
    assert (
        not Patient.objects.restrict(alliance_office).filter(pk=world["other_patient"].pk).exists()
    )


def test_a_center_sees_the_patients_of_its_stations_but_a_station_not_its_centers(world):
    from alliance.choices import Role
    from tests.kit.factories import staff_user

    station_doctor = staff_user(Role.COMMUNITY_STAFF, world["station"])
    visible = set(Patient.objects.restrict(station_doctor))
    assert visible == {world["station_patient"]}


def test_restrict_is_a_single_query(world, clinic_doctor, django_assert_num_queries):
    clinic_doctor = type(clinic_doctor).objects.get(pk=clinic_doctor.pk)
    with django_assert_num_queries(2):  # the profile, then the filtered rows
        list(Patient.objects.restrict(clinic_doctor))
