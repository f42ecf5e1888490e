from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("Reporting")

    def ready(self) -> None:
        # Imports here, not at the top: models, receivers and hooks load once the app registry is.
        from django.db.backends.signals import connection_created

        # The indicators of the demo are computed from every other app's demo rows.
        from alliance.panels import register_home_panel
        from core import registry

        from . import (
            panels,
            rules,  # noqa: F401  (registers the permissions with django-rules)
        )
        from .demo import load_demo
        from .expressions import register_sqlite_functions

        register_home_panel("reporting_office", panels.OFFICE, after=["sharedcenters_office"])
        registry.demo_loaders.register(
            "reporting", load_demo, after=["alliance", "referrals", "sharedcenters"]
        )

        connection_created.connect(register_sqlite_functions, dispatch_uid="reporting-sqlite")
