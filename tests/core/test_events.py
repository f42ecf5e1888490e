"""core.events.deliver_once against a gateway that hangs: a real HTTP server on this machine that
does not answer until the test lets it. The event's row is locked while the gateway is called;
the timeout (settings.DELIVERY_TIMEOUT_SECONDS) bounds how long."""

import http.client
import http.server
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from core.events import DEFAULT_TIMEOUT_SECONDS, DeliveryTimeout, deliver_once
from referrals.models import ReferralEvent
from referrals.tasks import send_pre_arrival_alert
from tests.conftest import require_postgres


class SleepingGateway(http.server.BaseHTTPRequestHandler):
    """An SMS gateway that takes each message, then sleeps until `awake` is set."""

    received: list[bytes] = []
    awake = threading.Event()

    def do_POST(self):  # noqa: N802 - the stdlib's name
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.awake.wait(30)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"sent")

    def log_message(self, *args):
        pass


SERVER: dict[str, int] = {}


def sms_gateway(phone: str, message: str) -> None:
    """A hospital's gateway (an alert backend) as it might be written: no timeout of its own."""
    http_connection = http.client.HTTPConnection("127.0.0.1", SERVER["port"])
    http_connection.request("POST", "/sms", body=f"{phone} {message}".encode())
    assert http_connection.getresponse().read() == b"sent"


@pytest.fixture
def gateway():
    SleepingGateway.received, SleepingGateway.awake = [], threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SleepingGateway)
    server.daemon_threads = True
    SERVER["port"] = server.server_port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield sms_gateway
    SleepingGateway.awake.set()
    server.shutdown()
    server.server_close()


def _locked_elsewhere_at_once(event_id: int) -> bool:
    """Whether another connection can lock the event's row without waiting."""
    answer = []

    def lock() -> None:
        try:
            with transaction.atomic():
                ReferralEvent.objects.select_for_update(nowait=True).get(pk=event_id)
            answer.append(True)
        except Exception:
            answer.append(False)
        finally:
            connection.close()

    thread = threading.Thread(target=lock)
    thread.start()
    thread.join(10)
    return answer == [True]


@pytest.fixture
def event(transactional_db, make_referral):
    require_postgres()  # row locks
    referral = make_referral(status="draft")
    return ReferralEvent.objects.create(referral=referral, action="submit", to_status="submitted")


def test_a_hanging_gateway_holds_the_event_only_until_the_timeout(gateway, event, settings):
    settings.DELIVERY_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()
    with pytest.raises(DeliveryTimeout):
        deliver_once(
            ReferralEvent, event.pk, lambda: gateway("13800000000", "STEMI"), mark="alert_sent"
        )
    assert time.monotonic() - started < 5  # not the 30 s the gateway sleeps
    assert SleepingGateway.received == [b"13800000000 STEMI"]
    event.refresh_from_db()
    assert "alert_sent" not in event.data  # the retry will send it
    assert _locked_elsewhere_at_once(event.pk)


def test_the_retry_after_a_timeout_sends_and_marks_once(gateway, event, settings):
    settings.DELIVERY_TIMEOUT_SECONDS = 0.5
    send = lambda: gateway("13800000000", "STEMI")  # noqa: E731
    with pytest.raises(DeliveryTimeout):
        deliver_once(ReferralEvent, event.pk, send, mark="alert_sent", value="13800000000")
    SleepingGateway.awake.set()  # the gateway is back
    assert deliver_once(ReferralEvent, event.pk, send, mark="alert_sent", value="13800000000")
    assert not deliver_once(ReferralEvent, event.pk, send, mark="alert_sent")
    event.refresh_from_db()
    assert event.data["alert_sent"] == "13800000000"
    # The first call reached the gateway too: the price of not waiting for ever (see deliver_once).
    assert len(SleepingGateway.received) == 2


def test_a_gateway_that_answers_in_time_is_waited_for_and_its_error_is_the_callers(
    gateway, event, settings
):
    settings.DELIVERY_TIMEOUT_SECONDS = 5
    SleepingGateway.awake.set()
    assert deliver_once(
        ReferralEvent, event.pk, lambda: gateway("13800000000", "x"), mark="alert_sent"
    )

    def refused() -> None:
        raise ConnectionRefusedError("gateway down")

    with pytest.raises(ConnectionRefusedError):
        deliver_once(ReferralEvent, event.pk, refused, mark="other_alert")
    event.refresh_from_db()
    assert event.data == {"alert_sent": True}


def test_a_pre_arrival_alert_through_a_hanging_gateway_fails_in_time_for_its_retry(
    gateway, transactional_db, referral_in, settings
):
    require_postgres()
    referral = referral_in("submitted", urgency="emergency")  # its alert went to the log
    event = referral.events.get(action="submit")
    ReferralEvent.objects.filter(pk=event.pk).update(data={})
    settings.REFERRAL_ALERT_BACKEND = f"{__name__}.sms_gateway"
    settings.DELIVERY_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()
    with pytest.raises(DeliveryTimeout):  # the task's autoretry takes it from here
        send_pre_arrival_alert(referral.pk, event.pk)
    assert time.monotonic() - started < 5
    assert len(SleepingGateway.received) == 1
    assert _locked_elsewhere_at_once(event.pk)


def test_the_timeout_is_ten_seconds_by_default():
    assert DEFAULT_TIMEOUT_SECONDS == 10
    assert django_settings.DELIVERY_TIMEOUT_SECONDS == DEFAULT_TIMEOUT_SECONDS
