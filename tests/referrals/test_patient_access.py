"""The PatientAccess table: a referral's grants are written by the transition that gives them
and ended by the one that takes them away, and visibility read from the table is the relation
rule it replaces (the sender always, the receiver once submitted)."""

import importlib

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from alliance.models import Patient, PatientAccess
from alliance.visibility import backfill_visibility
from core.access import profile_of
from referrals import services
from referrals.models import Referral
from referrals.querysets import RECEIVER_GRANT, SENDER_GRANT, referral_scope
from sharedcenters.querysets import ordered_patients
from tests.conftest import PERSONAS

BACKFILL = importlib.import_module("referrals.migrations.0010_patient_access_backfill").BACKFILL


def grants(referral) -> set:
    rows = PatientAccess.objects.filter(source_label="referrals.referral", source_pk=referral.pk)
    return set(rows.values_list("institution_id", "patient_id", "reason"))


def relation_rule(profile) -> set[int]:
    """Who saw which patient before the table: an OR over every referral (and center order)."""
    scope = referral_scope(profile)
    referred = Referral.objects.filter(
        Q(from_institution__in=scope) | (Q(to_institution__in=scope) & ~Q(status="draft"))
    )
    condition = (
        Q(home_institution__in=profile.patient_scope())
        | Q(pk__in=referred.values("patient_id"))
        | ordered_patients(profile)
    )
    return set(Patient.objects.filter(condition).values_list("pk", flat=True))


def sees(user, patient) -> bool:
    return Patient.objects.restrict(user).filter(pk=patient.pk).exists()


def test_a_draft_shows_its_patient_to_the_sender_only(make_referral, world, hospital_triage):
    referral = make_referral()
    assert referral.status == "draft"
    assert grants(referral) == {(world["center"].pk, world["patient"].pk, SENDER_GRANT)}
    assert not sees(hospital_triage, world["patient"])


def test_submitting_grants_the_receiver_from_then_on(
    make_referral, clinic_doctor, world, hospital_triage
):
    referral = make_referral()
    before = timezone.now()
    services.referral_submit(actor=clinic_doctor, referral=referral)
    assert grants(referral) == {
        (world["center"].pk, world["patient"].pk, SENDER_GRANT),
        (world["hospital"].pk, world["patient"].pk, RECEIVER_GRANT),
    }
    received = PatientAccess.objects.get(source_pk=referral.pk, reason=RECEIVER_GRANT)
    assert received.since >= before
    assert sees(hospital_triage, world["patient"])


def test_redirecting_ends_the_first_receivers_sight_of_the_patient(
    referral_in, world, hospital_triage, outsider_clinic_user
):
    referral = referral_in("submitted")
    assert not sees(outsider_clinic_user, world["patient"])
    services.referral_redirect(
        actor=hospital_triage, referral=referral, to_institution=world["other_center"]
    )
    assert grants(referral) == {
        (world["center"].pk, world["patient"].pk, SENDER_GRANT),
        (world["other_center"].pk, world["patient"].pk, RECEIVER_GRANT),
    }
    assert not sees(hospital_triage, world["patient"])
    assert sees(outsider_clinic_user, world["patient"])


def test_readdressing_a_referral_awaiting_information_moves_the_receivers_grant(
    referral_in, clinic_doctor, world, hospital_triage, outsider_clinic_user
):
    referral = referral_in("info_requested")
    services.referral_update(
        actor=clinic_doctor,
        referral=referral,
        to_institution=world["other_center"],
        to_department=None,
    )
    assert (world["other_center"].pk, world["patient"].pk, RECEIVER_GRANT) in grants(referral)
    assert not sees(hospital_triage, world["patient"])
    assert sees(outsider_clinic_user, world["patient"])


def test_closing_a_referral_keeps_the_grants(referral_in, world, hospital_triage):
    for state in ("completed", "rejected", "cancelled", "no_show"):
        PatientAccess.objects.all().delete()  # so that this referral's rows are its own
        referral = referral_in(state)
        assert len(grants(referral)) == 2, state
        assert sees(hospital_triage, world["patient"]), state


def test_a_second_referral_of_the_patient_adds_no_row(referral_in, world):
    first = referral_in("submitted")
    second = referral_in("submitted")
    assert len(grants(first)) == 2
    assert grants(second) == set()
    assert PatientAccess.objects.count() == 2


def test_a_redirect_hands_the_receivers_row_to_a_referral_that_still_grants_it(
    referral_in, world, hospital_triage
):
    first = referral_in("submitted")
    second = referral_in("accepted")
    services.referral_redirect(
        actor=hospital_triage, referral=first, to_institution=world["other_center"]
    )
    row = PatientAccess.objects.get(institution=world["hospital"], reason=RECEIVER_GRANT)
    assert row.source_pk == second.pk
    assert sees(hospital_triage, world["patient"])


@pytest.fixture
def referrals_in_every_state(referral_in, hospital_triage, world):
    made = [referral_in(state) for state in ("draft", "submitted", "completed", "cancelled")]
    redirected = referral_in("submitted", patient=world["station_patient"])
    services.referral_redirect(
        actor=hospital_triage, referral=redirected, to_institution=world["other_center"]
    )
    return [*made, redirected]


@pytest.mark.parametrize("persona", PERSONAS, indirect=True)
def test_the_table_shows_each_persona_what_the_relation_rule_did(referrals_in_every_state, persona):
    visible = set(Patient.objects.restrict(persona).values_list("pk", flat=True))
    if persona.is_superuser:
        assert visible == set(Patient.objects.values_list("pk", flat=True))
    elif profile_of(persona) is None:
        assert visible == set()
    else:
        assert visible == relation_rule(profile_of(persona))


def written_rows() -> set:
    return set(
        PatientAccess.objects.values_list("institution_id", "patient_id", "reason", "source_label")
    )


def test_the_backfill_migration_writes_the_rows_the_services_wrote(referrals_in_every_state):
    expected = written_rows()
    assert len(expected) == 4  # sender and receiver of two patients; a draft adds nothing
    PatientAccess.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(BACKFILL)
    assert written_rows() == expected
    for row in PatientAccess.objects.all():  # each from the first referral that grants it
        referral = Referral.objects.get(pk=row.source_pk)
        assert referral.patient_id == row.patient_id
        if row.reason == SENDER_GRANT:
            assert row.since == referral.created_at
            assert referral.from_institution_id == row.institution_id


def test_backfilling_rows_loaded_without_the_services_writes_the_same_rows(
    referrals_in_every_state,
):
    expected = written_rows()
    PatientAccess.objects.all().delete()
    backfill_visibility(Referral.objects.all())
    backfill_visibility(Referral.objects.all())  # rows already there are kept, not doubled
    assert written_rows() == expected
