"""The event backfills (referrals 0011, sharedcenters 0008): rows from before the event tables get
one event per step they record, marked as backfilled; steps the services already recorded get no
second event; migrating back removes the backfilled events only."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from referrals import services as referral_services
from referrals.models import FollowUpEvent, FollowUpTask
from sharedcenters import services as center_services
from sharedcenters.models import CycleEvent, SterilizationCycle, SupplyRequest, SupplyRequestEvent
from tests.conftest import require_postgres
from tests.referrals.conftest import make_referral  # noqa: F401 (fixture)
from tests.referrals.test_follow_ups import PLAN, complete_up
from tests.sharedcenters.conftest import (  # noqa: F401 (fixtures)
    centers,
    cssd_staff,
    instrument_set,
    make_supply_request,
)

BEFORE = [
    ("referrals", "0010_patient_access_backfill"),
    ("sharedcenters", "0007_order_newest_index"),
]

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets=None) -> None:
    """To `targets`, or forward to the latest migrations."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def _events(model, key: str) -> list[tuple]:
    return sorted(
        model.objects.values_list(key, "action", "from_status", "to_status", "actor_id", "note")
    )


def _backfilled(model) -> int:
    return model.objects.filter(data__has_key="backfilled").count()


def test_follow_up_tasks_get_their_creation_and_their_done_step(
    make_referral,  # noqa: F811
    clinic_doctor,
    hospital_triage,
):
    require_postgres()
    up = complete_up(make_referral, clinic_doctor, hospital_triage, follow_up=PLAN)
    back, _ = referral_services.referral_refer_back(actor=hospital_triage, referral=up, submit=True)
    referral_services.referral_accept(actor=clinic_doctor, referral=back)
    accepted = back.events.get(action="accept")
    recorded, old = FollowUpTask.objects.order_by("due_on")
    referral_services.follow_up_done(actor=clinic_doctor, task=recorded, note="血压130/80")
    live = _events(FollowUpEvent, "task_id")
    # Done before the table existed: the row says so, no event does.
    done_at = timezone.now()
    FollowUpTask.objects.filter(pk=old.pk).update(done_at=done_at, done_by=clinic_doctor, note="ok")

    _migrate(BEFORE)
    assert _events(FollowUpEvent, "task_id") == live  # nothing of the services' removed
    _migrate()

    doctor = clinic_doctor.pk
    assert _events(FollowUpEvent, "task_id") == sorted(
        [
            *live,
            (recorded.pk, "create", "", "open", accepted.actor_id, ""),
            (old.pk, "create", "", "open", accepted.actor_id, ""),
            (old.pk, "done", "open", "done", doctor, "ok"),
        ]
    )
    assert set(FollowUpEvent.objects.filter(action="create").values_list("at", flat=True)) == {
        accepted.at
    }
    assert FollowUpEvent.objects.get(task=old, action="done").at == done_at
    assert _backfilled(FollowUpEvent) == 3

    _migrate(BEFORE)  # back: the backfilled rows go, the services' stay
    assert _events(FollowUpEvent, "task_id") == live
    _migrate()
    assert _backfilled(FollowUpEvent) == 3  # and again: the same rows, none twice


def test_supply_requests_and_cycles_get_the_steps_their_rows_record(
    make_supply_request,  # noqa: F811
    cssd_staff,  # noqa: F811
    centers,  # noqa: F811
    clinic_doctor,
):
    require_postgres()
    open_request = make_supply_request()
    cancelled = center_services.supply_request_cancel(
        actor=clinic_doctor, request=make_supply_request()
    )
    old_cancelled = make_supply_request()
    now = timezone.now()
    SupplyRequest.objects.filter(pk=old_cancelled.pk).update(
        status="cancelled", cancelled_at=now, cancelled_by=clinic_doctor
    )
    cssd = centers["cssd"]

    def start(number: str) -> SterilizationCycle:
        return center_services.cycle_start(
            actor=cssd_staff, center=cssd, sterilizer="A", cycle_number=number, method="steam"
        )

    released = center_services.cycle_record_results(
        actor=cssd_staff,
        cycle=start("1"),
        physical="passed",
        chemical="passed",
        biological="pending",
    )
    running = start("2")
    old_failed, old_recalled = start("3"), start("4")
    SterilizationCycle.objects.filter(pk=old_failed.pk).update(
        status="failed", physical_result="failed", ended_at=now
    )
    SterilizationCycle.objects.filter(pk=old_recalled.pk).update(
        status="recalled",
        physical_result="passed",
        chemical_result="passed",
        ended_at=now,
        recalled_at=now,
        recalled_by=cssd_staff,
        recall_reason="湿包",
    )
    live_requests = _events(SupplyRequestEvent, "request_id")
    live_cycles = _events(CycleEvent, "cycle_id")

    _migrate(BEFORE)
    _migrate()

    doctor, staff = clinic_doctor.pk, cssd_staff.pk
    assert _events(SupplyRequestEvent, "request_id") == sorted(
        [
            *live_requests,
            (open_request.pk, "create", "", "submitted", doctor, ""),
            (cancelled.pk, "create", "", "submitted", doctor, ""),
            (old_cancelled.pk, "create", "", "submitted", doctor, ""),
            (old_cancelled.pk, "cancel", "submitted", "cancelled", doctor, ""),
        ]
    )
    assert _events(CycleEvent, "cycle_id") == sorted(
        [
            *live_cycles,
            *[(c.pk, "start", "", "running", staff, "") for c in (released, running)],
            *[(c.pk, "start", "", "running", staff, "") for c in (old_failed, old_recalled)],
            (old_failed.pk, "fail", "running", "failed", None, ""),
            (old_recalled.pk, "release", "running", "released", None, ""),
            (old_recalled.pk, "recall", "released", "recalled", staff, "湿包"),
        ]
    )
    assert SupplyRequestEvent.objects.get(request=old_cancelled, action="cancel").at == now
    assert CycleEvent.objects.get(cycle=old_recalled, action="recall").at == now

    _migrate(BEFORE)
    assert _events(SupplyRequestEvent, "request_id") == live_requests
    assert _events(CycleEvent, "cycle_id") == live_cycles
    _migrate()
