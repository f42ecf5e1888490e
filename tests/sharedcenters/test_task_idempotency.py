"""Every shared-center task may run twice (a retry, or a message the outbox published twice) and
still tell each person once: no second inbox row, no second email, no second critical-value call.

Each test delivers the very message the service queued in the outbox, twice.
"""

import datetime
import threading

from django.conf import settings
from django.db import connection
from django.utils import timezone

from sharedcenters import services
from sharedcenters.models import OrderEvent
from sharedcenters.tasks import (
    alert_critical_value,
    escalate_critical_value,
    notify_orderer,
    notify_recall,
)
from tests.conftest import require_postgres
from tests.kit.delivery import assert_runs_twice_with_one_effect
from tests.sharedcenters.conftest import CRITICAL_RESULTS


def test_a_report_notice_delivered_twice_reaches_the_orderer_once(
    lab_order_in, clinic_doctor, mailoutbox
):
    order = lab_order_in("reported")
    inbox, mails, _alerts = assert_runs_twice_with_one_effect(notify_orderer, mailoutbox)
    event = order.events.get(action="report")
    assert clinic_doctor.notifications.filter(key=f"order-event-{event.pk}").count() == 1
    assert len(inbox) == len(mails) >= 1


def test_a_critical_value_delivered_twice_calls_the_on_duty_phone_once(
    lab_order_in, ordering_department, clinic_doctor, critical_alerts, mailoutbox
):
    order = lab_order_in("reported", critical=True, ordering_department=ordering_department)
    inbox, mails, sent = assert_runs_twice_with_one_effect(
        alert_critical_value, mailoutbox, critical_alerts
    )
    event = order.events.get(action="report")
    assert clinic_doctor.notifications.get(key=f"order-event-{event.pk}").urgent is True
    assert [phone for phone, _message in sent] == ["13801700001"]
    assert len(inbox) == len(mails) >= 1


def test_an_escalation_delivered_twice_reaches_the_office_and_orderer_once(
    lab_order_in, center_staff, clinic_doctor, alliance_office, critical_alerts, mailoutbox
):
    long_ago = timezone.now() - datetime.timedelta(minutes=settings.CRITICAL_VALUE_ACK_MINUTES + 5)
    order = services.order_report(
        actor=center_staff,
        order=lab_order_in("in_progress"),
        results=CRITICAL_RESULTS,
        at=long_ago,
    )
    assert services.escalate_critical_values()["escalated"] == 1
    assert services.escalate_critical_values()["escalated"] == 0  # the job itself runs once
    inbox, mails, _alerts = assert_runs_twice_with_one_effect(escalate_critical_value, mailoutbox)
    event = order.events.get(action="escalate")
    for user in (alliance_office, clinic_doctor):
        assert user.notifications.filter(key=f"order-event-{event.pk}").count() == 1
    assert len(inbox) == len(mails) >= 2


def test_a_recall_notice_delivered_twice_reaches_each_holder_once(
    stored_packages, cssd_staff, clinic_doctor, alliance_office, mailoutbox
):
    cycle = stored_packages(2)[0].cycle
    services.cycle_recall(actor=cssd_staff, cycle=cycle, reason="BI复检阳性")
    inbox, mails, _alerts = assert_runs_twice_with_one_effect(notify_recall, mailoutbox)
    for user in (clinic_doctor, alliance_office):
        notice = user.notifications.get(key=f"cycle-recall-{cycle.pk}")
        assert notice.urgent is True
    assert len(inbox) == len(mails) >= 2


# --- two copies at the same time ------------------------------------------------------------

GATEWAY: dict = {}


def slow_gateway(phone: str, message: str) -> None:
    """An alert backend whose first call hangs until the test lets it go."""
    GATEWAY["calls"].append(phone)
    if len(GATEWAY["calls"]) == 1:
        GATEWAY["first_call"].set()
        GATEWAY["release"].wait(15)


def run_concurrently_with_a_slow_first_call(run) -> list:
    """Start `run` in a thread; while its alert call hangs, run it again in a second thread."""
    GATEWAY.update(calls=[], first_call=threading.Event(), release=threading.Event())
    errors = []

    def worker():
        try:
            run()
        except Exception as exc:  # re-raised in the test below
            errors.append(exc)
        finally:
            connection.close()

    first, second = threading.Thread(target=worker), threading.Thread(target=worker)
    first.start()
    assert GATEWAY["first_call"].wait(15)
    second.start()
    second.join(timeout=2)  # it either calls at once, or waits for the first to finish
    GATEWAY["release"].set()
    first.join(15)
    second.join(15)
    assert not errors, errors
    return GATEWAY["calls"]


def test_two_copies_of_a_critical_value_alert_running_at_once_call_once(
    transactional_db, lab_order_in, ordering_department, clinic_doctor, critical_alerts, settings
):
    require_postgres()  # row locks
    order = lab_order_in("reported", critical=True, ordering_department=ordering_department)
    # Committed for real here, so the first copy has run already: undo its mark and call.
    event = order.events.get(action="report")
    assert len(critical_alerts) == 1 and event.data.pop("alert_sent")
    OrderEvent.objects.filter(pk=event.pk).update(data=event.data)
    settings.CRITICAL_VALUE_ALERT_BACKEND = f"{__name__}.slow_gateway"
    calls = run_concurrently_with_a_slow_first_call(
        lambda: alert_critical_value(order.pk, event.pk)
    )
    assert calls == ["13801700001"]
    assert clinic_doctor.notifications.filter(key=f"order-event-{event.pk}").count() == 1
