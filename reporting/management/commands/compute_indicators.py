from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from alliance.models import Institution
from reporting.services.indicators import recompute, years_with_facts


class Command(BaseCommand):
    help = (
        "Compute the indicators in the foreground, as the Celery jobs do: one year (default: "
        "every year with facts, and this one), for all institutions or one and its alliances."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--year", type=int, help="e.g. 2019")
        parser.add_argument("--institution", metavar="CODE", help="an institution's code")

    def handle(self, *args, year=None, institution=None, **options) -> None:
        this_year = timezone.localdate().year
        if year is not None and not 1900 < year <= this_year:
            raise CommandError(f"--year must be between 1901 and {this_year}.")
        ids = None
        if institution:
            found = Institution.objects.filter(code=institution).values_list("pk", flat=True)
            if not found:
                raise CommandError(f"No institution with code {institution}.")
            ids = list(found)
        years = [year] if year else sorted({*years_with_facts(), this_year})
        for each in years:
            started = timezone.now()
            written = recompute(each, ids)
            seconds = (timezone.now() - started).total_seconds()
            self.stdout.write(f"{each}: {written} values in {seconds:.1f} s")
