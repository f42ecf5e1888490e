from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from core.models import OutboxMessage, WorkerHeartbeat
from tests.conftest import require_postgres


def test_every_model_change_has_its_migration(db):
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


# Issue 14 moved OutboxMessage and WorkerHeartbeat from alliance to core in Django's state only:
# the tables, their rows, content types and permissions stay, under core's name.
BEFORE_MOVE = [("alliance", "0014_staff_and_membership_history"), ("core", None)]


@pytest.mark.django_db(transaction=True)
def test_the_outbox_and_heartbeat_move_to_core_with_their_rows():
    require_postgres()  # the migrations' triggers and functions are PostgreSQL's
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE_MOVE)
    old = executor.loader.project_state(BEFORE_MOVE[0]).apps
    old_outbox = old.get_model("alliance", "OutboxMessage")
    old_outbox.objects.bulk_create(old_outbox(task=f"tests.task{n}", args=[n]) for n in range(3))
    old.get_model("alliance", "WorkerHeartbeat").objects.create(
        hostname="worker-1", seen_at=timezone.now()
    )
    old_type = old.get_model("contenttypes", "ContentType").objects.get_or_create(
        app_label="alliance", model="outboxmessage"
    )[0]

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(leaves)

    assert list(OutboxMessage.objects.values_list("args", flat=True)) == [[0], [1], [2]]
    assert WorkerHeartbeat.objects.get().hostname == "worker-1"
    moved = ContentType.objects.get_for_model(OutboxMessage)
    assert (moved.pk, moved.app_label) == (old_type.pk, "core")
    assert Permission.objects.filter(content_type=moved, codename="view_outboxmessage").exists()
    assert not ContentType.objects.filter(app_label="alliance", model="outboxmessage").exists()
