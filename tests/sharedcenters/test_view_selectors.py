"""The selectors the pages read their choices and rows from (the views never restrict a
queryset themselves: tests/security/test_url_bases.py)."""

import datetime

import pytest
from django.utils import timezone

from alliance import selectors as alliance_selectors
from alliance.models import Alliance
from sharedcenters import selectors, services
from sharedcenters.models import ExamOrder, ImagingSlot, SharedCenter
from tests.sharedcenters.test_orders import submitted_referral

pytestmark = pytest.mark.django_db


def test_diagnostic_centers_are_the_active_lab_imaging_and_ecg_ones_of_the_users_alliance(
    centers, clinic_doctor, bureau_viewer
):
    SharedCenter.objects.filter(pk=centers["ecg"].pk).update(is_active=False)

    assert set(selectors.diagnostic_centers(clinic_doctor)) == {centers["lab"], centers["imaging"]}
    assert set(selectors.dashboard_centers(clinic_doctor)) == {
        centers["lab"],
        centers["imaging"],
        centers["ecg"],  # inactive: its figures still count
    }
    assert not selectors.diagnostic_centers(bureau_viewer).exists()


def test_bookable_centers_are_the_active_imaging_and_ecg_ones(centers, clinic_doctor):
    assert set(selectors.bookable_centers(clinic_doctor)) == {centers["imaging"], centers["ecg"]}


def test_slots_on_a_day_are_the_centers_visible_ones_with_their_bookings(
    centers, slot, clinic_doctor, bureau_viewer
):
    start = timezone.localtime(slot.starts_at).replace(hour=0, minute=0)
    end = start + datetime.timedelta(days=1)
    ImagingSlot.objects.create(
        center=centers["imaging"],
        modality="ct",
        starts_at=end + datetime.timedelta(hours=9),
        ends_at=end + datetime.timedelta(hours=10),
        capacity=5,
    )

    slots = list(selectors.slots_on(clinic_doctor, centers["imaging"], start, end))

    assert slots == [slot]
    assert (slots[0].booked, slots[0].booked_priority) == (0, 0)
    assert list(selectors.slots_on(bureau_viewer, centers["imaging"], start, end)) == []


def test_referrals_to_cite_are_the_patients_visible_ones_newest_first(
    world, centers, clinic_doctor, outsider_clinic_user
):
    first = submitted_referral(world, clinic_doctor)
    second = submitted_referral(world, clinic_doctor)

    assert list(selectors.referrals_to_cite(clinic_doctor, world["patient"].pk)) == [
        second,
        first,
    ]
    assert list(selectors.referrals_to_cite(clinic_doctor, world["other_patient"].pk)) == []
    assert list(selectors.referrals_to_cite(outsider_clinic_user, world["patient"].pk)) == []


def test_visible_orders_are_the_users(make_order, clinic_doctor, outsider_clinic_user):
    order = make_order()

    assert list(selectors.visible_orders(clinic_doctor)) == [order]
    assert list(selectors.visible_orders(outsider_clinic_user)) == []
    assert ExamOrder.objects.count() == 1


def test_running_cycles_and_visible_packages(
    centers, instrument_set, make_packages, cssd_staff, clinic_doctor, outsider_clinic_user
):
    packages = make_packages(2)
    cycle = services.cycle_start(
        actor=cssd_staff,
        center=centers["cssd"],
        sterilizer="脉动真空灭菌器1号",
        cycle_number="C-1",
        method=instrument_set.method,
    )
    ids = [p.pk for p in packages]

    assert list(selectors.running_cycles(cssd_staff)) == [cycle]
    assert selectors.visible_package_ids(cssd_staff, ids) == set(ids)
    assert selectors.visible_package_ids(clinic_doctor, ids) == set(ids)  # the owner's
    assert selectors.visible_package_ids(outsider_clinic_user, ids) == set()


def test_patients_and_alliances_for(world, clinic_doctor, superuser, no_profile_user):
    assert world["patient"] in alliance_selectors.patients_for(clinic_doctor)
    assert world["foreign_patient"] not in alliance_selectors.patients_for(clinic_doctor)
    assert set(alliance_selectors.alliances_for(superuser)) == set(Alliance.objects.all())
    assert list(alliance_selectors.alliances_for(no_profile_user)) == []
