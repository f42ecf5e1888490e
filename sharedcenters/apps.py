from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharedCentersConfig(AppConfig):
    name = "sharedcenters"
    verbose_name = _("Shared centers")

    def ready(self) -> None:
        from alliance.querysets import register_patient_visibility

        from .querysets import ordered_patients

        register_patient_visibility(ordered_patients)
