"""`manage.py import_facts {visits|stays|beds} FILE [--dry-run]`: import a file for any
institution (or, with --dry-run, print its preview and write nothing)."""

from django.core.management.base import BaseCommand, CommandError

from reporting.choices import FactKind
from reporting.services.imports import ImportRejected, import_facts


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a data load: start importing at once
    help = (
        "Import outpatient visits, inpatient stays or open beds from a CSV/TSV (UTF-8 or "
        "GB18030), XLSX, XLS or ODS file. A file with any bad row is rejected whole; nothing is "
        "written then. --dry-run prints the preview and writes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", choices=FactKind.values)
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="preview only: write nothing")

    def handle(self, *args, kind: str, file: str, dry_run: bool = False, **options) -> None:
        try:
            with open(file, "rb") as stream:
                result = import_facts(kind=kind, file=stream, actor=None, dry_run=dry_run)
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from exc
        except ImportRejected as exc:
            for error in exc.errors:
                self.stderr.write(error["message"])
            if exc.error_count > len(exc.errors):
                self.stderr.write(f"... {exc.error_count} bad rows in all")
            raise CommandError(exc.detail) from exc
        for warning in result.warnings:
            self.stderr.write(warning)
        if dry_run:
            for month in result.preview["months"]:
                self.stdout.write(
                    f"{month['institution_code']} {month['month']}: {month['before']} → "
                    f"{month['after']}{'  (!)' if month['grows'] else ''}"
                )
            self.stdout.write(f"preview: would create {result.created}, update {result.updated}")
            return
        self.stdout.write(f"created {result.created}, updated {result.updated}")
