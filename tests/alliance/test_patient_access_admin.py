"""The admin of the PatientAccess table: a read-only list for superusers, filtered by
institution and reason, searched by the patient's record number, the patient masked."""

import pytest
from django.test import Client
from django.urls import reverse

from alliance.models import PatientAccess
from referrals import services
from referrals.querysets import RECEIVER_GRANT, SENDER_GRANT

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:alliance_patientaccess_changelist")


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


@pytest.fixture
def granted(world, clinic_doctor):
    """A submitted referral: its two rows, written by the service."""
    services.referral_create(
        actor=clinic_doctor,
        patient=world["patient"],
        to_institution=world["hospital"],
        to_department=world["cardiology"],
        urgency="urgent",
        service="outpatient",
        diagnosis_code="I20.0",
        diagnosis_text="不稳定型心绞痛",
        reason="反复胸痛，需专科评估",
        consent=True,
        submit=True,
    )
    return PatientAccess.objects.order_by("pk")


def listed(response) -> set[tuple[int, str]]:
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    return {(row.institution_id, row.reason) for row in rows}


def test_the_list_shows_each_grant_with_the_patient_masked(superuser, granted, world):
    response = logged_in(superuser).get(CHANGELIST)

    assert listed(response) == {
        (world["center"].pk, SENDER_GRANT),
        (world["hospital"].pk, RECEIVER_GRANT),
    }
    html = response.content.decode()
    assert world["patient"].masked_id_number in html
    assert world["patient"].id_number not in html


def test_filters_by_institution_and_reason(superuser, granted, world):
    client = logged_in(superuser)

    by_institution = client.get(CHANGELIST, {"institution__id__exact": world["hospital"].pk})
    by_reason = client.get(CHANGELIST, {"reason": SENDER_GRANT})

    assert listed(by_institution) == {(world["hospital"].pk, RECEIVER_GRANT)}
    assert listed(by_reason) == {(world["center"].pk, SENDER_GRANT)}


def test_searches_by_the_patients_record_number_only(superuser, granted, world):
    client = logged_in(superuser)

    assert len(listed(client.get(CHANGELIST, {"q": world["patient"].pk}))) == 2
    assert listed(client.get(CHANGELIST, {"q": world["patient"].pk + 1000})) == set()
    # Neither the identity number nor a name: they would land in URLs and logs.
    assert listed(client.get(CHANGELIST, {"q": world["patient"].id_number})) == set()
    assert listed(client.get(CHANGELIST, {"q": world["patient"].name})) == set()


def test_nobody_adds_changes_or_deletes_a_row(superuser, granted):
    client = logged_in(superuser)
    row = granted.first()

    add = client.get(reverse("admin:alliance_patientaccess_add"))
    change = client.post(
        reverse("admin:alliance_patientaccess_change", args=[row.pk]), {"reason": "x"}
    )
    delete = client.post(reverse("admin:alliance_patientaccess_delete", args=[row.pk]))

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    assert PatientAccess.objects.get(pk=row.pk).reason == row.reason


def test_a_staff_account_that_is_not_a_superuser_sees_nothing(clinic_doctor, granted):
    clinic_doctor.is_staff = True
    clinic_doctor.save()

    assert logged_in(clinic_doctor).get(CHANGELIST).status_code == 403
