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


def test_a_members_count_adds_up_its_disjoint_branches_to_the_visible_rows(
    world, make_order, clinic_doctor, monkeypatch
):
    """Own orders, orders for the member's residents and for patients granted to it (a
    referral): each counted once, whichever branch finds it; a cancelled order of a resident
    placed elsewhere, and the orders of other patients, not at all."""
    from alliance.visibility import PatientAccess
    from sharedcenters.models import ExamOrder

    monkeypatch.setattr(selectors.CappedPaginator, "cap", 100)
    make_order()  # own, for a resident: the first branch only
    resident, granted, foreign, cancelled = (make_order() for _ in range(4))
    # Moved to the hospital and to other patients afterwards (the hospital may not order for
    # them itself): ordered elsewhere, for a resident, a granted patient, a stranger.
    elsewhere = ExamOrder.objects.filter(pk__in=[resident.pk, granted.pk, foreign.pk, cancelled.pk])
    elsewhere.update(ordering_institution=world["hospital"], ordering_department=None)
    ExamOrder.objects.filter(pk=granted.pk).update(patient=world["other_patient"])
    ExamOrder.objects.filter(pk=foreign.pk).update(patient=world["foreign_patient"])
    ExamOrder.objects.filter(pk=cancelled.pk).update(status="cancelled")
    PatientAccess.objects.create(
        institution=world["center"],
        patient=world["other_patient"],
        reason="referral_received",
        source_label="referrals.referral",
        source_pk=1,
    )
    visible = ExamOrder.objects.restrict(clinic_doctor)
    parts = visible.count_parts()

    assert [visible.filter(part).count() for part in parts] == [1, 1, 1]
    assert selectors.CappedPaginator(visible.order_by("pk"), 25).count == 3
    assert set(visible.values_list("pk", flat=True)) == set(
        ExamOrder.objects.filter(
            pk__in=[o.pk for part in parts for o in visible.filter(part)]
        ).values_list("pk", flat=True)
    )


def test_the_count_of_a_filtered_list_stays_exact(make_order, clinic_doctor):
    make_order()
    make_order("imaging")

    paginator = page(clinic_doctor, status="ordered").context["paginator"]
    imaging = page(clinic_doctor, center=make_order("imaging").center_id).context["paginator"]

    assert paginator.count == 2
    assert imaging.count == 2
