"""Events for the follow-up tasks that were there before FollowUpEvent (0009): each task's
creation, when its referral was accepted (the accept event's time and actor: the services create
the tasks in that step), and, for a task done, its "done" at `done_at` by `done_by` with its note.
Each backfilled row says so in `data["backfilled"]`; a step that already has its event (written
by the services since 0009) gets no second one. Reversed by deleting the backfilled rows only."""

from django.db import migrations

MARK = "0011_follow_up_event_backfill"
BATCH = 2000


def backfill(apps, schema_editor):
    FollowUpTask = apps.get_model("referrals", "FollowUpTask")
    FollowUpEvent = apps.get_model("referrals", "FollowUpEvent")
    ReferralEvent = apps.get_model("referrals", "ReferralEvent")
    accepted = {
        referral_id: (at, actor_id)
        for referral_id, at, actor_id in ReferralEvent.objects.filter(
            action="accept", referral_id__in=FollowUpTask.objects.values("referral_id")
        )
        .order_by("at", "pk")
        .values_list("referral_id", "at", "actor_id")
    }
    had = set(FollowUpEvent.objects.values_list("task_id", "action"))
    events = []
    tasks = FollowUpTask.objects.order_by("pk").values_list(
        "pk", "referral_id", "done_at", "done_by_id", "note"
    )
    for pk, referral_id, done_at, done_by_id, note in tasks.iterator(chunk_size=BATCH):
        created = accepted.get(referral_id)
        if created is not None and (pk, "create") not in had:
            at, actor_id = created
            events.append(_event(FollowUpEvent, pk, "create", "", "open", at, actor_id))
        if done_at is not None and (pk, "done") not in had:
            events.append(
                _event(FollowUpEvent, pk, "done", "open", "done", done_at, done_by_id, note)
            )
        if len(events) >= BATCH:
            FollowUpEvent.objects.bulk_create(events)
            events = []
    FollowUpEvent.objects.bulk_create(events)


def _event(model, task_id, action, from_status, to_status, at, actor_id, note=""):
    return model(
        task_id=task_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        at=at,
        actor_id=actor_id,
        note=note,
        data={"backfilled": MARK},
    )


def unfill(apps, schema_editor):
    FollowUpEvent = apps.get_model("referrals", "FollowUpEvent")
    FollowUpEvent.objects.filter(data__backfilled=MARK).delete()


class Migration(migrations.Migration):
    dependencies = [("referrals", "0010_patient_access_backfill")]

    operations = [migrations.RunPython(backfill, unfill, elidable=True)]
