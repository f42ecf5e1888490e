from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("Two-way referrals")

    def ready(self) -> None:
        from alliance.querysets import register_patient_visibility

        from .querysets import referred_patients

        register_patient_visibility(referred_patients)
