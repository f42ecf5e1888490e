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
