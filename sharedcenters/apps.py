from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def load_demo() -> dict[str, int]:
    from .demo import load_demo  # late: the demo data is read only by seed_demo

    return load_demo()


class SharedCentersConfig(AppConfig):
    name = "sharedcenters"
    verbose_name = _("Shared centers")

    def ready(self) -> None:
        # Imports here, not at the top: models, receivers and hooks load once the app registry is.
        from alliance import visibility
        from alliance.panels import register_panel
        from core import registry

        from . import (
            panels,
            rules,  # noqa: F401  (registers the permissions with django-rules)
        )
        from .querysets import ordered_patients

        # A center's staff see the patients of the center's orders. Read as it is, not through
        # PatientAccess: the grantee is a center's staff list, not an institution.
        visibility.register(
            "sharedcenters",
            visibility.VisibilityContributor(
                model="sharedcenters.examorder", live=ordered_patients
            ),
        )
        register_panel("exam_orders", panels.PANEL, after=["referrals"])
        from alliance.panels import register_home_panel

        register_home_panel("exam_results", panels.RESULTS, after=["referrals_community"])
        register_home_panel("center_worklist", panels.CENTER)
        register_home_panel("sterilization", panels.STERILIZATION)
        register_home_panel("sharedcenters_office", panels.OFFICE, after=["referrals_office"])
        registry.demo_loaders.register("sharedcenters", load_demo, after=["alliance", "referrals"])
