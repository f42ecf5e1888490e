from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("Reporting")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import rules  # noqa: F401  (registers the permissions with django-rules)
        from .expressions import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="reporting-sqlite")
