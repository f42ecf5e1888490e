"""Two people at once, on two real PostgreSQL connections (SQLite has no row locks)."""

import threading

import pytest
from django.db import connections

from core.errors import IllegalTransition
from referrals import services
from referrals.choices import Action, Status
from referrals.models import Referral, ReferralEvent
from tests.conftest import require_postgres
from tests.referrals.conftest import payload


@pytest.fixture(autouse=True)
def _postgres_only(transactional_db):
    require_postgres()


def race(*calls):
    """Run the calls in parallel threads (each its own connection); return results/errors."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each side got
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def submitted_referral(transactional_db, world, clinic_doctor):
    data = payload(world) | {
        "patient": world["patient"],
        "to_institution": world["hospital"],
        "to_department": world["cardiology"],
    }
    referral, _ = services.referral_create(actor=clinic_doctor, submit=True, **data)
    return referral


def test_two_people_accepting_at_once_exactly_one_succeeds(
    submitted_referral, hospital_triage, alliance_office
):
    results = race(
        lambda: services.referral_accept(actor=hospital_triage, referral=submitted_referral),
        lambda: services.referral_accept(actor=alliance_office, referral=submitted_referral),
    )
    winners = [r for r in results if isinstance(r, Referral)]
    losers = [r for r in results if isinstance(r, IllegalTransition)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert Referral.objects.get(pk=submitted_referral.pk).status == Status.ACCEPTED
    accepted = ReferralEvent.objects.filter(referral=submitted_referral, action=Action.ACCEPT)
    assert accepted.count() == 1


def test_accept_and_cancel_at_once_leave_one_consistent_state(
    submitted_referral, hospital_triage, clinic_doctor
):
    results = race(
        lambda: services.referral_accept(actor=hospital_triage, referral=submitted_referral),
        lambda: services.referral_cancel(
            actor=clinic_doctor, referral=submitted_referral, reason="x"
        ),
    )
    final = Referral.objects.get(pk=submitted_referral.pk)
    # Either order is legal (cancel is allowed after accept), but every step is recorded once.
    assert all(isinstance(r, Referral | IllegalTransition) for r in results), results
    last = ReferralEvent.objects.filter(referral=final).latest("pk")
    assert last.to_status == final.status


def test_a_retried_submission_with_the_same_key_creates_one_referral(
    transactional_db, world, clinic_doctor
):
    data = payload(world) | {
        "patient": world["patient"],
        "to_institution": world["hospital"],
        "to_department": world["cardiology"],
    }

    def submit():
        return services.referral_create(
            actor=clinic_doctor, submit=True, idempotency_key="double-click", **data
        )

    results = race(submit, submit)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Referral.objects.count() == 1
    assert sorted(created for _, created in results) == [False, True]
