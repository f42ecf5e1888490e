"""Change history of orders and packages: database triggers (django-pghistory) catch the bulk
moves that bypass `save()`, with who made them. PostgreSQL only: SQLite has no such triggers."""

import pytest
from django.db import IntegrityError, InternalError, transaction

from sharedcenters.models import ExamOrder, ExamOrderHistory, Package, PackageHistory
from tests.conftest import require_postgres

MOVE = "/api/v1/sterilization/packages/move/"


@pytest.fixture(autouse=True)
def _postgres():
    require_postgres()


def test_a_batch_move_through_the_api_leaves_one_history_row_per_package_with_its_user(
    api, cssd_staff, make_packages
):
    packages = make_packages(5)
    codes = [p.barcode for p in packages]
    response = api.as_user(cssd_staff).post(MOVE, {"barcodes": codes, "action": "clean"}, "json")
    assert response.status_code == 200, response.content
    moved = PackageHistory.objects.filter(pgh_label="update", status="cleaned")
    assert sorted(moved.values_list("pgh_obj_id", flat=True)) == sorted(p.pk for p in packages)
    contexts = {h.pgh_context.metadata["user"] for h in moved.select_related("pgh_context")}
    assert contexts == {cssd_staff.pk}
    assert {h.pgh_context.metadata["url"] for h in moved} == {MOVE}


def test_a_queryset_update_outside_any_request_is_recorded_too(make_order):
    order = make_order("lab")
    ExamOrder.objects.filter(pk=order.pk).update(clinical_info="改过的临床信息")
    rows = list(ExamOrderHistory.objects.filter(pgh_obj_id=order.pk).order_by("pgh_id"))
    assert [r.pgh_label for r in rows][-1] == "update"
    assert rows[-1].clinical_info == "改过的临床信息"
    assert rows[-1].pgh_context is None  # no request, no user: a script or the shell


def test_a_deleted_package_leaves_its_last_state(make_packages):
    package = make_packages(1)[0]
    package.events.all().delete()
    Package.objects.filter(pk=package.pk).delete()
    assert PackageHistory.objects.filter(pgh_obj_id=package.pk, pgh_label="delete").exists()


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_the_history_cannot_be_rewritten(make_order, statement):
    order = make_order("lab")
    history = ExamOrderHistory.objects.filter(pgh_obj_id=order.pk)
    with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
        if statement == "update":
            history.update(clinical_info="抹掉")
        else:
            history.delete()
    assert history.exists()
