"""One FilterSet per list: each list page and its API endpoint accept the same filters and
return the same rows for a user; an invalid value is a 400 naming the field in the API, and a
field error (in Chinese) over the unfiltered list on the page, never a 500."""

import datetime
import html
import re

import pytest
from django.utils import timezone

from sharedcenters import services
from tests.sharedcenters.test_api import assert_field_error
from tests.sharedcenters.test_pages import logged_in

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def page_rows(user, url: str, params: dict) -> set[int]:
    response = logged_in(user).get(url, params)
    assert response.status_code == 200, response.status_code
    assert not response.context["filter"].errors, response.context["filter"].errors
    return {row.pk for row in response.context["object_list"]}


def api_rows(api, user, url: str, params: dict) -> set[int]:
    response = api.as_user(user).get(url, params)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def assert_same_rows(api, user, page: str, endpoint: str, params: dict, expected: set[int]):
    assert page_rows(user, page, params) == expected
    assert api_rows(api, user, endpoint, params) == expected


def assert_refused_alike(api, user, page: str, endpoint: str, params: dict, field: str):
    """The API answers 400 naming the field; the page shows the field's error in Chinese and
    lists the rows the other (valid) parameters select."""
    assert_field_error(api.as_user(user).get(endpoint, params), field)
    response = logged_in(user).get(page, params)
    assert response.status_code == 200
    errors = response.context["filter"].form.errors
    assert set(errors) == {field}, errors
    assert CHINESE.search(errors[field][0]), errors[field]
    assert html.escape(errors[field][0]) in response.content.decode()
    return {row.pk for row in response.context["object_list"]}


# --- exam orders -------------------------------------------------------------------------------

ORDERS = ("/centers/orders/", "/api/v1/orders/")


@pytest.fixture
def orders(lab_order_in, make_order):
    return {
        "collected": lab_order_in("collected"),
        "urgent": lab_order_in("ordered", priority="urgent"),
        "critical": lab_order_in("reported", critical=True),
        "imaging": make_order("imaging"),
        "old": make_order("lab", ordered_at=timezone.now() - datetime.timedelta(days=10)),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "collected"}, {"collected"}),
        ({"priority": "urgent"}, {"urgent"}),
        ({"critical": "open"}, {"critical"}),
        ({"critical": "yes"}, {"critical"}),
        ({"critical": "true"}, {"critical"}),
        ({"center": "imaging"}, {"imaging"}),
        ({"q": "李"}, set()),
        ({"ordered_until": "ten days ago"}, {"old"}),
        ({"ordered_before": "ten days ago"}, {"old"}),
        ({"ordered_from": "today", "priority": "urgent"}, {"urgent"}),
        ({"ordered_after": "today", "status": ["collected", "ordered"]}, None),
    ],
)
def test_the_order_page_and_api_filter_alike(api, clinic_doctor, orders, params, expected):
    today = timezone.localdate()
    days = {"today": today.isoformat(), "ten days ago": (today - datetime.timedelta(9)).isoformat()}
    params = {
        k: orders[v].center_id if k == "center" else days.get(v, v) if isinstance(v, str) else v
        for k, v in params.items()
    }
    if expected is None:  # several statuses: the open ones ordered today
        wanted = {o.pk for o in orders.values() if o.status in ("collected", "ordered")}
        wanted -= {orders["old"].pk}
    else:
        wanted = {orders[name].pk for name in expected}

    assert_same_rows(api, clinic_doctor, *ORDERS, params, wanted)


def test_the_order_search_finds_the_number_alike(api, clinic_doctor, orders):
    number = orders["urgent"].number.lower()

    assert_same_rows(api, clinic_doctor, *ORDERS, {"q": number}, {orders["urgent"].pk})


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"priority": "bogus"}, "priority"),
        ({"critical": "maybe"}, "critical"),
        ({"ordered_from": "不是日期"}, "ordered_from"),
        ({"ordered_after": "2024-13-01"}, "ordered_after"),
        ({"center": "abc"}, "center"),
    ],
)
def test_an_invalid_order_filter_is_refused_alike(api, clinic_doctor, orders, params, field):
    listed = assert_refused_alike(api, clinic_doctor, *ORDERS, params, field)

    assert listed == {o.pk for o in orders.values()}  # the unfiltered list


# --- packages ----------------------------------------------------------------------------------

PACKAGES = ("/centers/sterilization/", "/api/v1/sterilization/packages/")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "cleaned"}, [0]),
        ({"status": "received"}, [1, 2]),
        ({"q": "00002"}, [1]),
        ({"barcode": " PKG00003 "}, [2]),
        ({"owner": "centre"}, [0, 1, 2]),
        ({"expiring": "true"}, []),
    ],
)
def test_the_package_page_and_api_filter_alike(
    api, cssd_staff, make_packages, world, params, expected
):
    packages = make_packages(3)
    services.packages_move(actor=cssd_staff, barcodes=[packages[0].barcode], action="clean")
    params = {k: world["center"].pk if v == "centre" else v for k, v in params.items()}

    assert_same_rows(api, cssd_staff, *PACKAGES, params, {packages[i].pk for i in expected})


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "bogus"}, "status"), ({"owner": "abc"}, "owner"), ({"cycle": "1.5"}, "cycle")],
)
def test_an_invalid_package_filter_is_refused_alike(api, cssd_staff, make_packages, params, field):
    packages = make_packages(2)

    listed = assert_refused_alike(api, cssd_staff, *PACKAGES, params, field)

    assert listed == {p.pk for p in packages}


# --- sterilization cycles ----------------------------------------------------------------------

CYCLES = ("/centers/sterilization/cycles/", "/api/v1/sterilization/cycles/")


@pytest.fixture
def cycles(cssd_staff, centers, stored_packages):
    stored_packages(1)  # one released cycle
    running = services.cycle_start(
        actor=cssd_staff,
        center=centers["cssd"],
        sterilizer="脉动真空灭菌器2号",
        cycle_number="RUN-1",
        method="steam",
    )
    released = centers["cssd"].cycles.exclude(pk=running.pk).get()
    return {"running": running, "released": released}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "running"}, {"running"}),
        ({"sterilizer": "脉动真空灭菌器2号"}, {"running"}),
        ({"started_from": "today"}, {"running", "released"}),
        ({"started_from": "tomorrow"}, set()),
    ],
)
def test_the_cycle_page_and_api_filter_alike(api, cssd_staff, cycles, params, expected):
    today = timezone.localdate()
    days = {"today": today, "tomorrow": today + datetime.timedelta(days=1)}
    params = {k: days[v].isoformat() if v in days else v for k, v in params.items()}

    assert_same_rows(api, cssd_staff, *CYCLES, params, {cycles[n].pk for n in expected})


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "bogus"}, "status"), ({"started_from": "昨天"}, "started_from")],
)
def test_an_invalid_cycle_filter_is_refused_alike(api, cssd_staff, cycles, params, field):
    listed = assert_refused_alike(api, cssd_staff, *CYCLES, params, field)

    assert listed == {c.pk for c in cycles.values()}


# --- supply requests ---------------------------------------------------------------------------

REQUESTS = ("/centers/sterilization/requests/", "/api/v1/sterilization/requests/")


@pytest.fixture
def supply_requests(make_supply_request, clinic_doctor):
    kept = make_supply_request()
    gone = services.supply_request_cancel(actor=clinic_doctor, request=make_supply_request())
    return {"submitted": kept, "cancelled": gone}


@pytest.mark.parametrize("status", ["submitted", "cancelled"])
def test_the_supply_request_page_and_api_filter_alike(api, clinic_doctor, supply_requests, status):
    expected = {supply_requests[status].pk}

    assert_same_rows(api, clinic_doctor, *REQUESTS, {"status": status}, expected)


def test_the_supply_requests_filter_by_center_alike(api, clinic_doctor, supply_requests, centers):
    everything = {r.pk for r in supply_requests.values()}
    params = {"center": centers["cssd"].pk}

    assert_same_rows(api, clinic_doctor, *REQUESTS, params, everything)


@pytest.mark.parametrize(
    ("params", "field"), [({"status": "bogus"}, "status"), ({"center": "x"}, "center")]
)
def test_an_invalid_supply_request_filter_is_refused_alike(
    api, clinic_doctor, supply_requests, params, field
):
    listed = assert_refused_alike(api, clinic_doctor, *REQUESTS, params, field)

    assert listed == {r.pk for r in supply_requests.values()}
