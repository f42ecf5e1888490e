from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation

from alliance.demo import ACCOUNTS, DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Load the Lingang demo alliance (idempotent: running it again changes nothing)."

    def handle(self, *args, **options) -> None:
        counts = load_demo()
        summary = ", ".join(f"{n} {name}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo alliance loaded: {summary}."))
        self.stdout.write(f"Demo accounts (password: {DEMO_PASSWORD}):")
        self.stdout.write(f"  {'admin':<12} superuser")
        with translation.override(settings.LANGUAGE_CODE):
            for username, display, _key, _department, role in ACCOUNTS:
                self.stdout.write(f"  {username:<12} {role.value:<16} {role.label}  {display}")
