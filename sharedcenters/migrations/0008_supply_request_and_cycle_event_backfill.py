"""Events for the supply requests and sterilization cycles that were there before their event
tables (0006), from what each row records:

- a request: its creation ("create", at `created_at` by `requested_by`), and its end when it has
  one: "cancel" at `cancelled_at` by `cancelled_by`, or "fulfil" at `fulfilled_at` by whoever
  dispatched its last package;
- a cycle: its start ("start", at `started_at` by `operator`); "release" at `ended_at` when the
  physical and chemical indicators passed; "fail" when it failed (at `ended_at`: the one time
  the row keeps); "recall" at `recalled_at` by `recalled_by` with its reason.

Each backfilled row says so in `data["backfilled"]`; a step that already has its event (written
by the services since 0006) gets no second one. Reversed by deleting the backfilled rows only."""

from django.db import migrations

MARK = "0008_supply_request_and_cycle_event_backfill"
BATCH = 2000


def backfill_requests(apps, schema_editor):
    SupplyRequest = apps.get_model("sharedcenters", "SupplyRequest")
    SupplyRequestEvent = apps.get_model("sharedcenters", "SupplyRequestEvent")
    PackageEvent = apps.get_model("sharedcenters", "PackageEvent")
    had = set(SupplyRequestEvent.objects.values_list("request_id", "action"))
    dispatcher = dict(
        PackageEvent.objects.filter(supply_request__status="fulfilled", to_status="dispatched")
        .order_by("at", "pk")
        .values_list("supply_request_id", "actor_id")
    )  # the last dispatch of each request wins
    rows = SupplyRequest.objects.order_by("pk").values_list(
        "pk",
        "status",
        "created_at",
        "requested_by_id",
        "cancelled_at",
        "cancelled_by_id",
        "fulfilled_at",
    )
    steps = []
    for pk, status, created_at, requested_by, cancelled_at, cancelled_by, fulfilled_at in rows:
        steps.append((pk, "create", "", "submitted", created_at, requested_by, ""))
        if status == "cancelled" and cancelled_at is not None:
            steps.append((pk, "cancel", "submitted", status, cancelled_at, cancelled_by, ""))
        if status == "fulfilled" and fulfilled_at is not None:
            actor = dispatcher.get(pk)
            steps.append((pk, "fulfil", "submitted", status, fulfilled_at, actor, ""))
    _write(SupplyRequestEvent, "request_id", steps, had)


def backfill_cycles(apps, schema_editor):
    SterilizationCycle = apps.get_model("sharedcenters", "SterilizationCycle")
    CycleEvent = apps.get_model("sharedcenters", "CycleEvent")
    had = set(CycleEvent.objects.values_list("cycle_id", "action"))
    rows = SterilizationCycle.objects.order_by("pk").values_list(
        "pk",
        "status",
        "started_at",
        "operator_id",
        "ended_at",
        "physical_result",
        "chemical_result",
        "recalled_at",
        "recalled_by_id",
        "recall_reason",
    )
    steps = []
    for row in rows:
        pk, status, started_at, operator, ended_at, physical, chemical = row[:7]
        recalled_at, recalled_by, reason = row[7:]
        steps.append((pk, "start", "", "running", started_at, operator, ""))
        state = "running"
        released = physical == chemical == "passed" and status != "running"
        if released and ended_at is not None:
            steps.append((pk, "release", state, "released", ended_at, None, ""))
            state = "released"
        if status == "failed" and ended_at is not None:
            steps.append((pk, "fail", state, "failed", ended_at, None, ""))
            state = "failed"
        if recalled_at is not None:
            steps.append((pk, "recall", state, status, recalled_at, recalled_by, reason))
    _write(CycleEvent, "cycle_id", steps, had)


def _write(model, key: str, steps, had) -> None:
    events = [
        model(
            **{key: pk},
            action=action,
            from_status=from_status,
            to_status=to_status,
            at=at,
            actor_id=actor_id,
            note=note,
            data={"backfilled": MARK},
        )
        for pk, action, from_status, to_status, at, actor_id, note in steps
        if (pk, action) not in had
    ]
    model.objects.bulk_create(events, batch_size=BATCH)


def unfill_requests(apps, schema_editor):
    SupplyRequestEvent = apps.get_model("sharedcenters", "SupplyRequestEvent")
    SupplyRequestEvent.objects.filter(data__backfilled=MARK).delete()


def unfill_cycles(apps, schema_editor):
    apps.get_model("sharedcenters", "CycleEvent").objects.filter(data__backfilled=MARK).delete()


class Migration(migrations.Migration):
    dependencies = [("sharedcenters", "0007_order_newest_index")]

    operations = [
        migrations.RunPython(backfill_requests, unfill_requests, elidable=True),
        migrations.RunPython(backfill_cycles, unfill_cycles, elidable=True),
    ]
