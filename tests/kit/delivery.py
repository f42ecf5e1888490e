"""Delivering what the services queued in the outbox, as a worker would, for the tests of the
tasks' idempotency (tests/<app>/test_task_idempotency.py)."""

from django.contrib.auth import get_user_model

from alliance.models import Notification
from core.models import OutboxMessage


def deliver(task) -> None:
    """Run each message queued for the task as a worker would (retries included)."""
    messages = OutboxMessage.objects.filter(task=task.name).order_by("pk")
    assert messages, f"nothing queued for {task.name}"
    for message in messages:
        task.apply(args=message.args, kwargs=message.kwargs).get()


def effects(mailoutbox, alerts) -> tuple:
    inbox = sorted(
        Notification.objects.values_list("recipient_id", "key", "title", "urgent", "emailed_at")
    )
    return inbox, [(mail.to, mail.subject) for mail in mailoutbox], list(alerts)


def assert_runs_twice_with_one_effect(task, mailoutbox, alerts=()) -> tuple:
    # Everyone has an address, so that a second email would show.
    for user in get_user_model().objects.filter(email=""):
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    deliver(task)
    first = effects(mailoutbox, alerts)
    deliver(task)
    assert effects(mailoutbox, alerts) == first
    return first
