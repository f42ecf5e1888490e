"""core.access: the scope of a user, restrict() and its mark, the bases that restrict every
get_queryset (overrides included), and the one fetch-and-authorise form."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.test import RequestFactory
from django.views.generic import ListView

from alliance.choices import Role
from alliance.models import Patient
from core.access import RestrictedMixin, Scope, restricted, row_for_user
from core.models import WorkerHeartbeat
from tests.kit.factories import staff_user


def test_the_scope_is_built_once_for_a_user_object(clinic_doctor, django_assert_num_queries):
    first = Scope.of(clinic_doctor)
    with django_assert_num_queries(0):
        assert Scope.of(clinic_doctor) is first
    assert first.profile == clinic_doctor.staff_profile
    assert not first.everything and not first.nothing


def test_a_user_changed_since_gets_a_new_scope(clinic_doctor):
    before = Scope.of(clinic_doctor)
    clinic_doctor.is_superuser = True
    after = Scope.of(clinic_doctor)
    assert after is not before and after.everything


def test_who_sees_nothing(world, no_profile_user, superuser):
    auditor = staff_user(Role.SECURITY_AUDITOR, world["hospital"])
    assert Scope.of(no_profile_user).nothing
    assert Scope.of(auditor).nothing
    assert not Scope.of(superuser).nothing and Scope.of(superuser).everything
    assert Patient.objects.restrict(auditor).count() == 0


def test_restrict_marks_its_rows_for_the_user_through_later_filters(clinic_doctor, center_staff):
    patients = Patient.objects.restrict(clinic_doctor).filter(name__startswith="张").order_by("pk")
    assert patients.is_restricted_for(clinic_doctor)
    assert not patients.is_restricted_for(center_staff)
    assert restricted(patients, clinic_doctor) is patients  # not filtered twice
    assert not Patient.objects.all().is_restricted_for(clinic_doctor)


def test_restricted_restricts_what_is_not_and_refuses_what_cannot_be(world, clinic_doctor):
    assert set(restricted(Patient.objects.all(), clinic_doctor)) == {
        world["patient"],
        world["station_patient"],
    }
    with pytest.raises(ImproperlyConfigured):
        restricted(WorkerHeartbeat.objects.all(), clinic_doctor)  # no restrict()


class EveryPatient(RestrictedMixin, ListView):
    """A view that 'forgets': its override returns every patient."""

    def get_queryset(self):
        return Patient.objects.order_by("name")


def test_an_override_of_get_queryset_is_restricted_anyway(world, outsider_clinic_user):
    request = RequestFactory().get("/")
    request.user = outsider_clinic_user
    view = EveryPatient()
    view.setup(request)
    assert list(view.get_queryset()) == list(Patient.objects.restrict(outsider_clinic_user))
    assert world["patient"] not in view.get_queryset()


def test_a_row_the_user_may_not_see_is_a_404(world, clinic_doctor):
    patients = Patient.objects.all()
    assert row_for_user(patients, clinic_doctor, world["patient"].pk) == world["patient"]
    for pk in (world["foreign_patient"].pk, "x", None, 10**9):
        with pytest.raises(Http404):
            row_for_user(patients, clinic_doctor, pk)
