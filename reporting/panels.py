"""The alliance office's home items from reporting (alliance.panels.HomePanel)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from alliance.choices import Role
from alliance.panels import HomeItem, HomePanel

from . import selectors


def office_items(user) -> list[HomeItem]:
    jobs = selectors.failed_jobs(user)
    return [
        HomeItem(
            _("Members without data this month"),
            selectors.members_missing_data(user),
            reverse("reporting:dashboard"),
            "warning",
        ),
        HomeItem(_("Failed imports"), jobs["imports"], reverse("reporting:import-list"), "danger"),
        HomeItem(
            _("Failed recomputations"), jobs["recomputes"], reverse("reporting:recompute"), "danger"
        ),
    ]


OFFICE = HomePanel(_("Reporting"), frozenset({Role.ALLIANCE_OFFICE}), office_items)
