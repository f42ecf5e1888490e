"""Booking imaging slots: ordinary orders share capacity − priority_reserved, the green channel
(signed residents, referred patients) may also take the reserved places; the slot never overflows.

The `slot` fixture: a CT slot tomorrow, 10 places of which 3 are reserved, so 7 ordinary ones.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from core.errors import ActionNotAllowed, IllegalTransition
from sharedcenters import services
from sharedcenters.choices import OrderAction, OrderStatus
from sharedcenters.models import ExamOrder, ImagingSlot, SharedCenter
from tests.kit.factories import PatientFactory


@pytest.fixture
def book(clinic_doctor):
    def book(order: ExamOrder, slot: ImagingSlot) -> ExamOrder:
        return services.order_schedule(actor=clinic_doctor, order=order, slot=slot)

    return book


@pytest.fixture
def ordinary(make_order):
    """`ordinary(n)`: n CT orders of the world's (unsigned) patient."""
    return lambda count: [make_order("imaging") for _ in range(count)]


@pytest.fixture
def green(make_order, world):
    """`green(n)`: n CT orders of a family-doctor-signed resident: the alliance green channel."""
    patient = PatientFactory(
        home_institution=world["center"],
        signed=True,
        signing_institution=world["center"],
        signed_on=datetime.date(2022, 1, 1),
    )

    def make(count: int) -> list[ExamOrder]:
        orders = [make_order("imaging", patient=patient) for _ in range(count)]
        assert all(order.priority_channel for order in orders)
        return orders

    return make


def taken(slot: ImagingSlot) -> tuple[int, int]:
    """(places booked, of which green channel), counted as the pages and the API count them."""
    annotated = ImagingSlot.objects.with_bookings().get(pk=slot.pk)
    return annotated.booked, annotated.booked_priority


def refusal(book, order, slot) -> str:
    with translation.override("en"), pytest.raises(IllegalTransition) as error:
        book(order, slot)
    order.refresh_from_db()
    assert order.status == OrderStatus.ORDERED and order.slot is None
    return error.value.message


def other_slot(slot, **changes) -> ImagingSlot:
    values = {
        "center": slot.center,
        "modality": slot.modality,
        "capacity": 10,
        "priority_reserved": 3,
        "starts_at": slot.starts_at + datetime.timedelta(hours=1),
    } | changes
    values["ends_at"] = values["starts_at"] + datetime.timedelta(minutes=30)
    return ImagingSlot.objects.create(**values)


# --- refusals ------------------------------------------------------------------------------------


def test_ordinary_orders_fill_only_the_unreserved_places(book, ordinary, slot):
    *first_seven, eighth = ordinary(8)
    for order in first_seven:
        book(order, slot)
    assert "green channel" in refusal(book, eighth, slot)
    assert taken(slot) == (7, 0)


def test_a_full_slot_refuses_the_green_channel_too(book, ordinary, green, slot):
    for order in ordinary(7) + green(3):
        book(order, slot)
    late_green, late_ordinary = green(1)[0], ordinary(1)[0]
    assert "full" in refusal(book, late_green, slot)
    assert "full" in refusal(book, late_ordinary, slot)
    assert taken(slot) == (10, 3)


def test_a_slot_of_another_modality_is_a_field_error(book, make_order, slot):
    mri = other_slot(slot, modality="mri")
    order = make_order("imaging")
    with pytest.raises(ValidationError) as error:
        book(order, mri)
    assert "slot" in error.value.message_dict
    assert not order.events.filter(action=OrderAction.SCHEDULE).exists()


def test_a_slot_of_another_center_is_a_field_error(book, make_order, slot, world, centers):
    second = SharedCenter.objects.create(
        name="第二影像中心",
        kind="imaging",
        institution=world["hospital"],
        alliance=world["alliance"],
        phone="021-68180001",
    )
    elsewhere = other_slot(slot, center=second)
    with pytest.raises(ValidationError) as error:
        book(make_order("imaging"), elsewhere)
    assert "slot" in error.value.message_dict


@pytest.mark.parametrize("started", [datetime.timedelta(0), datetime.timedelta(hours=2)])
def test_a_slot_that_has_begun_is_a_field_error(book, make_order, slot, clinic_doctor, started):
    at = timezone.now()
    begun = other_slot(slot, starts_at=at - started)
    with pytest.raises(ValidationError) as error:
        services.order_schedule(actor=clinic_doctor, order=make_order("imaging"), slot=begun, at=at)
    assert "slot" in error.value.message_dict


def test_only_the_ordering_side_books(make_order, slot, imaging_staff, alliance_office):
    order = make_order("imaging")
    for actor in (imaging_staff, alliance_office):
        with pytest.raises(ActionNotAllowed):
            services.order_schedule(actor=actor, order=order, slot=slot)
    assert taken(slot) == (0, 0)


# --- what the green channel may take, and what frees a place --------------------------------------


def test_the_green_channel_takes_the_reserved_and_the_remaining_ordinary_places(
    book, ordinary, green, slot
):
    for order in ordinary(4):
        book(order, slot)
    for order in green(6):  # 3 reserved + the 3 ordinary places still free
        book(order, slot)
    assert taken(slot) == (10, 6)


def test_green_channel_bookings_use_the_reserve_before_ordinary_places(book, ordinary, green, slot):
    for order in green(3):
        book(order, slot)
    for order in ordinary(7):
        book(order, slot)
    assert taken(slot) == (10, 3)


def test_a_cancelled_order_frees_its_place(book, ordinary, slot, clinic_doctor):
    *booked, waiting = ordinary(8)
    for order in booked:
        book(order, slot)
    services.order_cancel(actor=clinic_doctor, order=booked[0], reason="患者取消预约")
    order = book(waiting, slot)
    assert order.status == OrderStatus.SCHEDULED
    assert taken(slot) == (7, 0)
    assert slot.orders.count() == 8  # the cancelled order keeps its slot for the record


def test_booking_another_slot_frees_the_first(book, ordinary, slot):
    later = other_slot(slot)
    *booked, waiting = ordinary(8)
    for order in booked:
        book(order, slot)
    moved = book(booked[0], later)
    assert moved.slot == later and moved.status == OrderStatus.SCHEDULED
    book(waiting, slot)
    assert (taken(slot), taken(later)) == ((7, 0), (1, 0))
    schedules = moved.events.filter(action=OrderAction.SCHEDULE).order_by("pk")
    assert [event.data["slot"] for event in schedules] == [slot.pk, later.pk]
    assert schedules.last().from_status == OrderStatus.SCHEDULED


def test_booking_the_same_full_slot_again_keeps_the_place(book, ordinary, slot):
    orders = ordinary(7)
    for order in orders:
        book(order, slot)
    again = book(orders[0], slot)
    assert again.slot == slot
    assert taken(slot) == (7, 0)
