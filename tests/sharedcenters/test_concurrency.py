"""Many people at once, on real PostgreSQL connections (SQLite has no row locks)."""

import datetime
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from core.errors import IllegalTransition
from sharedcenters import services
from sharedcenters.choices import OrderAction, OrderStatus
from sharedcenters.models import ExamOrder, ImagingSlot, OrderEvent
from tests.conftest import require_postgres
from tests.sharedcenters.conftest import CRITICAL_RESULTS


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
def small_slot(centers):
    """A CT slot tomorrow with three places, none reserved."""
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=1)
    return ImagingSlot.objects.create(
        center=centers["imaging"],
        modality="ct",
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=20),
        capacity=3,
        priority_reserved=0,
    )


def test_eight_people_booking_three_places_at_once_book_exactly_three(
    make_order, clinic_doctor, small_slot
):
    orders = [make_order("imaging") for _ in range(8)]

    def booking(order):
        return lambda: services.order_schedule(actor=clinic_doctor, order=order, slot=small_slot)

    results = race(*(booking(order) for order in orders))

    booked = [r for r in results if isinstance(r, ExamOrder)]
    refused = [r for r in results if isinstance(r, IllegalTransition)]
    assert (len(booked), len(refused)) == (3, 5), results
    in_slot = ExamOrder.objects.filter(slot=small_slot).exclude(status=OrderStatus.CANCELLED)
    assert in_slot.count() == 3
    assert set(in_slot.values_list("pk", flat=True)) == {order.pk for order in booked}
    assert OrderEvent.objects.filter(action=OrderAction.SCHEDULE).count() == 3
    assert ExamOrder.objects.filter(status=OrderStatus.ORDERED).count() == 5


def test_two_receipts_of_the_same_specimen_at_once_record_one(
    lab_order_in, center_staff, superuser
):
    order = lab_order_in("collected")
    results = race(
        lambda: services.order_receive(actor=center_staff, order=order),
        lambda: services.order_receive(actor=superuser, order=order),
    )
    winners = [r for r in results if isinstance(r, ExamOrder)]
    losers = [r for r in results if isinstance(r, IllegalTransition)]
    assert len(winners) == 1 and len(losers) == 1, results
    order.refresh_from_db()
    assert order.status == OrderStatus.RECEIVED
    receipt = order.events.get(action=OrderAction.RECEIVE)
    assert receipt.at == order.received_at


def test_orders_placed_at_once_get_consecutive_numbers(make_order):
    results = race(*(lambda: make_order("lab") for _ in range(8)))
    assert all(isinstance(r, ExamOrder) for r in results), results
    day = f"{timezone.localdate():%Y%m%d}"
    assert sorted(r.number for r in results) == [f"JY-{day}-{n:04d}" for n in range(1, 9)]


def test_two_escalation_runs_at_once_escalate_each_critical_value_once(
    settings, lab_order_in, center_staff
):
    settings.CRITICAL_VALUE_ACK_MINUTES = 10
    reported = timezone.now() - datetime.timedelta(minutes=30)
    for _ in range(3):
        services.order_report(
            actor=center_staff,
            order=lab_order_in("in_progress"),
            results=CRITICAL_RESULTS,
            at=reported,
        )
    results = race(services.escalate_critical_values, services.escalate_critical_values)
    assert sum(r["escalated"] for r in results) == 3, results
    assert OrderEvent.objects.filter(action=OrderAction.ESCALATE).count() == 3
    assert not ExamOrder.objects.filter(critical_escalated_at__isnull=True).exists()


def test_steps_on_two_orders_of_one_center_do_not_wait_for_each_other(lab_order_in, center_staff):
    first, second = lab_order_in("collected"), lab_order_in("collected")
    holding, release = threading.Event(), threading.Event()

    def receive_first_and_keep_the_transaction_open():
        try:
            with transaction.atomic():
                services.order_receive(actor=center_staff, order=first)
                holding.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=receive_first_and_keep_the_transaction_open)
    thread.start()
    try:
        assert holding.wait(timeout=10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            received = services.order_receive(actor=center_staff, order=second)
    finally:
        release.set()
        thread.join(timeout=30)
    assert received.status == OrderStatus.RECEIVED
