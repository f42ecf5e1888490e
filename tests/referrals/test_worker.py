"""The overdue-escalation job through the Redis broker and a real Celery worker process."""

import datetime

import pytest
from django.utils import timezone

from referrals import services
from referrals.choices import Action
from referrals.models import Referral, ReferralEvent
from referrals.tasks import escalate_overdue_referrals
from tests.kit.waiting import wait_for, worker_drained
from tests.referrals.conftest import payload

pytestmark = pytest.mark.worker


def test_overdue_referrals_escalate_once_through_a_real_worker(
    celery_worker_queue, world, clinic_doctor, alliance_office
):
    data = payload(world) | {
        "patient": world["patient"],
        "to_institution": world["hospital"],
        "to_department": world["cardiology"],
    }
    referral, _ = services.referral_create(actor=clinic_doctor, submit=True, **data)
    Referral.objects.filter(pk=referral.pk).update(
        due_at=timezone.now() - datetime.timedelta(minutes=10)
    )

    escalate_overdue_referrals.apply_async(queue=celery_worker_queue)
    assert wait_for(lambda: alliance_office.notifications.exists())

    escalate_overdue_referrals.apply_async(queue=celery_worker_queue)
    escalate_overdue_referrals.apply_async(queue=celery_worker_queue)
    assert worker_drained(celery_worker_queue)

    referral.refresh_from_db()
    assert referral.escalated_at is not None
    assert ReferralEvent.objects.filter(referral=referral, action=Action.ESCALATE).count() == 1
    assert alliance_office.notifications.count() == 1
