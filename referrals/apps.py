from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def load_demo() -> dict[str, int]:
    from .demo import load_demo  # late: the demo data is read only by seed_demo

    return load_demo()


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("Two-way referrals")

    def ready(self) -> None:
        # Imports here, not at the top: models, receivers and hooks load once the app registry is.
        from alliance import visibility
        from alliance.panels import register_panel
        from core import registry

        from . import (
            panels,
            rules,  # noqa: F401  (registers the permissions with django-rules)
        )
        from .querysets import referral_grants, referral_scope

        # A referral shows its patient to the two institutions it goes between.
        visibility.register(
            "referrals",
            visibility.VisibilityContributor(
                model="referrals.referral", scope=referral_scope, grants=referral_grants
            ),
        )
        register_panel("referrals", panels.PANEL)
        from alliance.panels import register_home_panel

        register_home_panel("referrals_community", panels.COMMUNITY)
        register_home_panel("referrals_hospital", panels.HOSPITAL)
        register_home_panel("referrals_office", panels.OFFICE)
        registry.demo_loaders.register("referrals", load_demo, after=["alliance"])
