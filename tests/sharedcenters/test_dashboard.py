"""The center dashboard: figures computed from orders placed at known times through the
services' `at=` parameters, and the page that shows them to the centers and the office."""

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from sharedcenters import selectors_dashboard, services
from sharedcenters.choices import RejectionReason
from sharedcenters.models import ExamOrder, ImagingSlot
from tests.kit.factories import PatientFactory

from .conftest import CRITICAL_RESULTS, NORMAL_RESULTS

pytestmark = pytest.mark.django_db

H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def figures_shown(content: str, name: str) -> list[str]:
    """One value per center card, in page order (ECG, imaging, lab: the centers' ordering)."""
    return re.findall(rf'data-figure="{name}">\s*(.*?)\s*<', content)


@pytest.fixture
def lab_month(make_order, clinic_doctor, center_staff):
    """Lab orders of the last days, each step at a known time. Target 6 h from receipt
    (blood count 4 h, potassium 6 h: the slowest item counts).

    ordered → received → reported   turnaround  at the center  on time
    A  base       +1 h       +2 h       2 h          1 h          yes
    B  base+1d    +1 h       +4 h       4 h          3 h          yes (critical, ack +12 min)
    C  base+2d    +1 h       +9 h       9 h          8 h          no
    D  base       rejected (hemolysis) at +1 h, collected again: not reported
    E  cancelled: left out;  F  40 days ago: outside the period
    """
    base = timezone.now() - 5 * D

    def run(ordered, received, reported, results=NORMAL_RESULTS):
        order = make_order("lab", ordered_at=ordered)
        order = services.order_collect(actor=clinic_doctor, order=order, at=ordered + H / 2)
        order = services.order_receive(actor=center_staff, order=order, at=received)
        return services.order_report(actor=center_staff, order=order, results=results, at=reported)

    a = run(base, base + H, base + 2 * H)
    b = run(base + D, base + D + H, base + D + 4 * H, results=CRITICAL_RESULTS)
    services.order_acknowledge(
        actor=clinic_doctor, order=b, at=b.reported_at + datetime.timedelta(minutes=12)
    )
    c = run(base + 2 * D, base + 2 * D + H, base + 2 * D + 9 * H)
    d = make_order("lab", ordered_at=base)
    d = services.order_collect(actor=clinic_doctor, order=d, at=base + H / 2)
    d = services.order_reject(actor=center_staff, order=d, reason="hemolysis", at=base + H)
    services.order_collect(actor=clinic_doctor, order=d, at=base + 2 * H)
    e = make_order("lab", ordered_at=base)
    services.order_cancel(actor=clinic_doctor, order=e, reason="重复开单")
    run(base - 35 * D, base - 35 * D + H, base - 35 * D + 2 * H)
    return {"a": a, "b": b, "c": c, "d": d}


@pytest.fixture
def imaging_waits(make_order, clinic_doctor, world, centers):
    """Two CT bookings into a slot two days ahead: a green-channel patient ordered four days
    before it, an ordinary one three days before."""
    start = timezone.now() + 2 * D
    slot = ImagingSlot.objects.create(
        center=centers["imaging"],
        modality="ct",
        starts_at=start,
        ends_at=start + H / 2,
        capacity=10,
        priority_reserved=3,
    )
    green = PatientFactory(
        name="孙丽",
        home_institution=world["center"],
        signed=True,
        signing_institution=world["center"],
        signed_on=datetime.date(2024, 3, 1),
    )
    for patient, ordered in ((green, start - 4 * D), (world["patient"], start - 3 * D)):
        order = make_order("imaging", patient=patient, ordered_at=ordered)
        services.order_schedule(actor=clinic_doctor, order=order, slot=slot)
    return slot


# --- The figures --------------------------------------------------------------------------------


def test_the_lab_figures_come_from_the_orders_times(lab_month, centers):
    start, end = selectors_dashboard.default_period()

    f = selectors_dashboard.center_figures(centers["lab"], start, end)

    assert (f.orders, f.reported) == (4, 3)  # A B C D; E cancelled, F too old
    assert f.median_tat_hours == Decimal("4.0")
    assert f.median_lab_tat_hours == Decimal("3.0")
    assert (f.on_time, f.with_target, f.on_time_rate) == (2, 3, Decimal("66.7"))
    assert (f.critical, f.critical_acknowledged, f.median_ack_minutes) == (1, 1, Decimal("12.0"))
    assert f.rejections == [(str(RejectionReason.HEMOLYSIS.label), 1)]
    assert f.rejection_rate == Decimal("25.0")
    [volume] = f.by_institution
    assert (volume.orders, volume.reported) == (4, 3)


def test_the_imaging_wait_compares_the_green_channel_with_ordinary_patients(imaging_waits, centers):
    start, end = selectors_dashboard.default_period()

    f = selectors_dashboard.center_figures(centers["imaging"], start, end)

    [ct] = f.waits
    assert (ct.modality, ct.green_orders, ct.ordinary_orders) == ("ct", 1, 1)
    assert (ct.green_days, ct.ordinary_days) == (Decimal("4.0"), Decimal("3.0"))


def test_nothing_to_measure_is_none_never_zero(centers):
    start, end = selectors_dashboard.default_period()

    f = selectors_dashboard.center_figures(centers["ecg"], start, end)

    assert f.orders == 0
    assert f.on_time_rate is None and f.median_tat_hours is None
    assert f.median_ack_minutes is None and f.rejection_rate is None
    assert selectors_dashboard.rate(0, 0) is None
    assert selectors_dashboard.rate(0, 5) == Decimal("0.0")


def test_reported_without_a_due_time_does_not_count_for_on_time(
    make_order, clinic_doctor, center_staff, centers
):
    order = make_order("lab")
    order = services.order_collect(actor=clinic_doctor, order=order)
    order = services.order_receive(actor=center_staff, order=order)
    services.order_report(actor=center_staff, order=order, results=NORMAL_RESULTS)
    ExamOrder.objects.filter(pk=order.pk).update(due_at=None)
    start, end = selectors_dashboard.default_period()

    f = selectors_dashboard.center_figures(centers["lab"], start, end)

    assert (f.reported, f.with_target, f.on_time_rate) == (1, 0, None)


# --- The page -----------------------------------------------------------------------------------


def test_the_office_sees_every_centers_figures_on_the_page(
    alliance_office, lab_month, imaging_waits, centers
):
    response = logged_in(alliance_office).get("/centers/dashboard/")

    assert response.status_code == 200
    content = response.content.decode()
    assert [f.center for f in response.context["figures"]] == [
        centers["ecg"],
        centers["imaging"],
        centers["lab"],
    ]
    assert figures_shown(content, "median-tat") == ["—", "—", "4.0 小时"]
    assert figures_shown(content, "median-lab-tat") == ["—", "—", "3.0 小时"]
    assert figures_shown(content, "on-time-rate") == ["—", "—", "66.7%"]
    assert figures_shown(content, "median-ack") == ["—", "—", "12.0 分钟"]
    assert figures_shown(content, "wait-green-ct") == ["4.0"]
    assert figures_shown(content, "wait-ordinary-ct") == ["3.0"]
    assert "0%" not in content and "0.0%" not in content
    assert "泥城社区卫生服务中心" in content  # orders by member institution


def test_a_centers_staff_see_only_their_own_centers_figures(center_staff, lab_month, centers):
    response = logged_in(center_staff).get("/centers/dashboard/")

    assert [f.center for f in response.context["figures"]] == [centers["lab"]]
    assert figures_shown(response.content.decode(), "on-time-rate") == ["66.7%"]


def test_the_period_and_center_filters(alliance_office, lab_month, centers):
    today = timezone.localdate()
    client = logged_in(alliance_office)

    recent = client.get(
        "/centers/dashboard/", {"date_from": today.isoformat(), "center": centers["lab"].pk}
    )
    older = client.get(
        "/centers/dashboard/",
        {"date_from": (today - 60 * D).isoformat(), "date_to": (today - 30 * D).isoformat()},
    )

    [lab] = recent.context["figures"]
    assert lab.center == centers["lab"] and lab.orders == 0
    assert figures_shown(recent.content.decode(), "on-time-rate") == ["—"]
    assert {f.center.kind: f.orders for f in older.context["figures"]}["lab"] == 1  # order F


def test_a_bad_period_shows_the_error_and_the_last_30_days(alliance_office, lab_month):
    response = logged_in(alliance_office).get(
        "/centers/dashboard/", {"date_from": "2025-02-30", "date_to": "2025-01-01"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["date_from"]
    assert (response.context["date_from"], response.context["date_to"]) == (
        selectors_dashboard.default_period()
    )


@pytest.mark.parametrize(
    "persona", ["clinic_doctor", "hospital_triage", "bureau_viewer", "no_profile_user"]
)
def test_the_dashboard_is_for_the_centers_and_the_office(request, persona, centers):
    response = logged_in(request.getfixturevalue(persona)).get("/centers/dashboard/")

    assert response.status_code == 403


def test_the_superuser_sees_the_dashboard(superuser, lab_month):
    response = logged_in(superuser).get("/centers/dashboard/")

    assert response.status_code == 200 and len(response.context["figures"]) == 3
