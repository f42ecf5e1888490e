"""Referral indicators from referrals made through the services: drafts and cancelled ones
do not count, the rejection rate is over the answered ones."""

import pytest
from django.utils import timezone

from reporting.models import IndicatorValue
from reporting.services.indicators import recompute
from tests.referrals.conftest import make_referral, referral_in  # noqa: F401 - fixtures


@pytest.mark.django_db
def test_counts_exclude_drafts_and_cancelled_and_rejections_are_over_answers(
    world,
    referral_in,  # noqa: F811 - the imported fixture
    make_referral,  # noqa: F811
):
    for state in ("rejected", "accepted", "cancelled"):
        referral_in(state)
    make_referral("draft")
    year = timezone.localdate().year
    recompute(year)

    def row(indicator, institution):
        return IndicatorValue.objects.get(
            indicator=indicator, institution=institution, period=str(year)
        )

    assert row("upward_referrals", world["center"]).value == 2
    rejection = row("referral_rejection_rate", world["hospital"])
    assert (rejection.numerator, rejection.denominator, rejection.value) == (1, 2, 50)
    assert row("referral_response_median_minutes", world["hospital"]).denominator == 2
    # The hospital sent nothing: no upward referrals of its own are stored.
    assert not IndicatorValue.objects.filter(
        indicator="upward_referrals", institution=world["hospital"]
    ).exists()


@pytest.mark.django_db
def test_an_internal_transfer_counts_neither_up_nor_down_nor_hides_the_imported_counts(
    world, clinic_doctor
):
    """The centre sent its own station a patient this month and nothing else; its system's
    file counts 40 upward referrals for the month. The transfer is no upward (or downward)
    referral, and no referral of the platform's that would replace the file's 40."""
    from alliance.choices import Role
    from referrals import services
    from reporting.models import ReferralCount
    from tests.kit.factories import staff_user

    transfer, _ = services.referral_create(
        actor=clinic_doctor,
        patient=world["patient"],
        to_institution=world["station"],
        diagnosis_code="I10",
        diagnosis_text="高血压",
        reason="下沉随访",
        consent=True,
        submit=True,
    )
    assert (transfer.direction, transfer.status) == ("internal", "submitted")
    station_doctor = staff_user(Role.COMMUNITY_STAFF, world["station"])
    back, _ = services.referral_create(
        actor=station_doctor,
        patient=world["station_patient"],
        to_institution=world["center"],
        diagnosis_code="I10",
        diagnosis_text="高血压",
        reason="随访",
        consent=True,
        submit=True,
    )
    assert back.direction == "internal"
    today = timezone.localdate()
    ReferralCount.objects.create(
        institution=world["center"], month=today.replace(day=1), direction="up", count=40
    )
    recompute(today.year)

    def value(indicator, institution):
        row = IndicatorValue.objects.filter(
            indicator=indicator, institution=institution, period=str(today.year)
        ).first()
        return None if row is None else row.value

    assert value("upward_referrals", world["center"]) == 40
    assert value("downward_referrals", world["center"]) in (None, 0)
    for indicator in ("upward_referrals", "downward_referrals"):
        assert value(indicator, world["station"]) in (None, 0)
    lingang = IndicatorValue.objects.get(
        indicator="upward_referrals", alliance=world["alliance"], period=str(today.year)
    )
    assert lingang.value == 40
