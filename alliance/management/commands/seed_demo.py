from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from alliance.demo import ACCOUNTS, DEMO_PASSWORD
from core import registry


class Command(BaseCommand):
    help = "Load the Lingang demo alliance (idempotent: running it again changes nothing)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the demo even with DEBUG off (it creates accounts with a known password).",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to load the demo with DEBUG off: it creates shared accounts with a "
                "published password. Run it with DEBUG=true (as `make run` does), or pass "
                "--force on a machine that is not in production."
            )
        # Each app registers its demo data (core.registry.demo_loaders) after the apps it builds
        # on, so alliance never imports the apps that build on it.
        counts: dict[str, int] = {}
        for load_demo in registry.demo_loaders:
            counts |= load_demo()
        summary = ", ".join(f"{n} {name}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo alliance loaded: {summary}."))
        self.stdout.write(f"Demo accounts (password: {DEMO_PASSWORD}):")
        self.stdout.write(f"  {'admin':<12} superuser")
        with translation.override(settings.LANGUAGE_CODE):
            for username, display, _key, _department, role in ACCOUNTS:
                self.stdout.write(f"  {username:<12} {role.value:<16} {role.label}  {display}")
