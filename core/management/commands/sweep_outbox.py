import datetime

from django.core.management.base import BaseCommand, CommandError

from core import outbox
from core.models import OutboxMessage


class Command(BaseCommand):
    help = (
        "Publish the pending outbox messages (side effects the broker missed) now, instead of "
        "waiting for the sweeper that Celery beat runs every minute."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--limit", type=int, default=1000, help="At most this many messages (default 1000)."
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help=f"Include messages younger than {outbox.SWEEP_AFTER.seconds} s, which the request "
            "that queued them may still be publishing.",
        )

    def handle(self, *args, **options) -> None:
        older_than = outbox.SWEEP_AFTER if not options["all"] else datetime.timedelta(0)
        result = outbox.sweep(limit=options["limit"], older_than=older_than)
        pending = OutboxMessage.objects.filter(sent_at__isnull=True).count()
        self.stdout.write(f"Sent {result.sent}, failed {result.failed}, pending {pending}.")
        if result.failed:
            # Non-zero exit, so that a script or a cron wrapper notices a broker still down.
            raise CommandError("Some messages could not be published; see the log.")
