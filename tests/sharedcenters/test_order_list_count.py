"""The order list counts its visible rows up to a cap (sharedcenters.selectors.CappedPaginator):
an exact count below it, "N+" pages above it, and the same rows either way."""

import pytest
from django.test import Client

from sharedcenters import selectors
from sharedcenters.views import OrderListView

pytestmark = pytest.mark.django_db


def page(user, **params):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    response = client.get("/centers/orders/", params)
    assert response.status_code == 200
    return response


def test_below_the_cap_the_count_is_exact(make_order, clinic_doctor, monkeypatch):
    monkeypatch.setattr(selectors.CappedPaginator, "cap", 10)
    for _ in range(3):
        make_order()

    paginator = page(clinic_doctor).context["paginator"]

    assert paginator.count == 3
    assert str(paginator.num_pages) == "1"


def test_above_the_cap_the_pager_reads_at_least(make_order, clinic_doctor, monkeypatch):
    monkeypatch.setattr(selectors.CappedPaginator, "cap", 2)
    monkeypatch.setattr(OrderListView, "paginate_by", 1)
    orders = [make_order() for _ in range(4)]

    response = page(clinic_doctor)
    second = page(clinic_doctor, page=2)

    assert response.context["paginator"].count == 2
    assert str(response.context["paginator"].num_pages) == "2+"
    assert "1 / 2+" in response.content.decode()
    # Newest first, as before: the pages show the same rows.
    assert [o.pk for o in response.context["object_list"]] == [orders[-1].pk]
    assert [o.pk for o in second.context["object_list"]] == [orders[-2].pk]
