from django.conf import settings
from django.core.management.base import BaseCommand

from reporting.services.jobs import jobs_sweep_stale


class Command(BaseCommand):
    help = (
        "Mark failed the running jobs (imports, recomputations) whose heartbeat stopped for "
        "JOB_HEARTBEAT_TIMEOUT_MINUTES, now, instead of waiting for the sweeper Celery beat runs "
        "every minute."
    )

    def handle(self, *args, **options) -> None:
        swept = jobs_sweep_stale()
        minutes = settings.JOB_HEARTBEAT_TIMEOUT_MINUTES
        self.stdout.write(f"Marked {swept} job(s) failed (no heartbeat for {minutes} min).")
