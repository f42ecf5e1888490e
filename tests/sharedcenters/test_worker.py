"""Critical-value escalation through the Redis broker and a real Celery worker process."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from sharedcenters import services
from sharedcenters.choices import OrderAction
from sharedcenters.models import OrderEvent
from sharedcenters.tasks import escalate_critical_values
from tests.kit.waiting import wait_for, worker_drained
from tests.sharedcenters.conftest import CRITICAL_RESULTS

pytestmark = pytest.mark.worker


def test_an_unacknowledged_critical_value_escalates_once_through_a_real_worker(
    celery_worker_queue, lab_order_in, center_staff, clinic_doctor, alliance_office
):
    long_ago = timezone.now() - datetime.timedelta(minutes=settings.CRITICAL_VALUE_ACK_MINUTES + 20)
    order = services.order_report(
        actor=center_staff,
        order=lab_order_in("in_progress"),
        results=CRITICAL_RESULTS,
        at=long_ago,
    )
    # The alert queued on commit of the report reaches the ordering doctor through the worker.
    assert wait_for(lambda: clinic_doctor.notifications.filter(urgent=True).exists())
    assert not alliance_office.notifications.exists()

    escalate_critical_values.apply_async(queue=celery_worker_queue)
    assert wait_for(lambda: alliance_office.notifications.exists())

    escalate_critical_values.apply_async(queue=celery_worker_queue)
    escalate_critical_values.apply_async(queue=celery_worker_queue)
    assert worker_drained(celery_worker_queue)

    order.refresh_from_db()
    assert order.critical_escalated_at is not None
    escalation = OrderEvent.objects.get(order=order, action=OrderAction.ESCALATE)
    assert escalation.at == order.critical_escalated_at
    office = alliance_office.notifications.get()
    assert office.urgent is True and office.key == f"order-event-{escalation.pk}"
    assert clinic_doctor.notifications.filter(key=f"order-event-{escalation.pk}").count() == 1
