"""Every referral task may run twice (a retry, or a message the outbox published twice) and still
tell each person once: no second inbox row, no second email, no second pre-arrival call.

Each test delivers the very message the service queued in the outbox, twice.
"""

import datetime
import threading

from django.db import connection
from django.utils import timezone

from referrals import selectors, services
from referrals.models import Referral, ReferralEvent
from referrals.tasks import (
    notify_referral_overdue,
    notify_referral_sender,
    notify_referral_submitted,
    send_pre_arrival_alert,
)
from tests.conftest import require_postgres
from tests.kit.delivery import assert_runs_twice_with_one_effect


def test_a_submission_notice_delivered_twice_reaches_the_receiving_side_once(
    referral_in, hospital_triage, mailoutbox
):
    referral = referral_in("submitted")
    inbox, mails, _alerts = assert_runs_twice_with_one_effect(notify_referral_submitted, mailoutbox)
    event = referral.events.get(action="submit")
    assert hospital_triage.notifications.filter(key=f"referral-event-{event.pk}").count() == 1
    assert len(inbox) == len(mails) >= 1


def test_an_answer_delivered_twice_reaches_the_sender_once(referral_in, clinic_doctor, mailoutbox):
    referral = referral_in("accepted")
    inbox, mails, _alerts = assert_runs_twice_with_one_effect(notify_referral_sender, mailoutbox)
    event = referral.events.get(action="accept")
    assert clinic_doctor.notifications.filter(key=f"referral-event-{event.pk}").count() == 1
    assert len(inbox) == len(mails) >= 1


def test_an_overdue_notice_delivered_twice_reaches_the_office_once(
    referral_in, alliance_office, mailoutbox
):
    referral = referral_in("submitted")
    Referral.objects.filter(pk=referral.pk).update(
        due_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    assert services.escalate_overdue()["escalated"] == 1
    inbox, mails, _alerts = assert_runs_twice_with_one_effect(notify_referral_overdue, mailoutbox)
    event = referral.events.get(action="escalate")
    notice = alliance_office.notifications.get(key=f"referral-event-{event.pk}")
    assert notice.urgent is True
    assert len(inbox) == len(mails) == 1


def test_a_pre_arrival_alert_delivered_twice_calls_the_on_duty_phone_once(
    referral_in, alerts, mailoutbox
):
    referral = referral_in("submitted", urgency="emergency")
    _inbox, _mails, sent = assert_runs_twice_with_one_effect(
        send_pre_arrival_alert, mailoutbox, alerts
    )
    assert [phone for phone, _message in sent] == [selectors.on_duty_phone(referral)]
    assert sent[0][0]


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


def test_two_copies_of_a_pre_arrival_alert_running_at_once_call_once(
    transactional_db, referral_in, alerts, settings
):
    require_postgres()  # row locks
    referral = referral_in("submitted", urgency="emergency")
    # Committed for real here, so the first copy has run already: undo its mark and call.
    event = referral.events.get(action="submit")
    assert len(alerts) == 1 and event.data.pop("alert_sent")
    ReferralEvent.objects.filter(pk=event.pk).update(data=event.data)
    settings.REFERRAL_ALERT_BACKEND = f"{__name__}.slow_gateway"
    calls = run_concurrently_with_a_slow_first_call(
        lambda: send_pre_arrival_alert(referral.pk, event.pk)
    )
    assert calls == [selectors.on_duty_phone(referral)]
