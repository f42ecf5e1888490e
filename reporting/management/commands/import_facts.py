"""`manage.py import_facts {visits|stays|beds} FILE`: import a file for any institution."""

from django.core.management.base import BaseCommand, CommandError

from reporting.choices import FactKind
from reporting.services.imports import ImportRejected, import_facts


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a data load: start importing at once
    help = (
        "Import outpatient visits, inpatient stays or open beds from a CSV (UTF-8 or GB18030) "
        "or XLSX file. A file with any bad row is rejected whole; nothing is written then."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", choices=FactKind.values)
        parser.add_argument("file")

    def handle(self, *args, kind: str, file: str, **options) -> None:
        try:
            with open(file, "rb") as stream:
                result = import_facts(kind=kind, file=stream, actor=None)
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from exc
        except ImportRejected as exc:
            for error in exc.errors:
                column = error["column"] or "-"
                self.stderr.write(f"row {error['row']}, {column}: {error['message']}")
            if exc.error_count > len(exc.errors):
                self.stderr.write(f"... {exc.error_count} bad rows in all")
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"created {result.created}, updated {result.updated}")
