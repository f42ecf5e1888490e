"""The cockpit (驾驶舱): a full-screen page for the health bureau and the alliance office. It is
drawn from reporting/selectors/cockpit.py and then kept current by static/js/cockpit.js, which
reads `/api/v1/cockpit/` every 60 s. Aggregates only: no patient."""

from __future__ import annotations

import rules
from django.conf import settings
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from core.access import RestrictedMixin

from ..api.cockpit import cockpit_data
from ..querysets import DISTRICT
from ..selectors.cockpit import cockpit

REFRESH_SECONDS = 60

# Each tile's label and unit, as the page and its script show them.
TILES = {
    "referrals": (gettext_lazy("Referrals this month"), ""),
    "referral_completion_rate": (gettext_lazy("Referrals completed"), "%"),
    "center_orders": (gettext_lazy("Shared-center orders"), ""),
    "center_median_turnaround_hours": (gettext_lazy("Median turnaround"), gettext_lazy("hours")),
    "green_channel_bookings": (gettext_lazy("Green-channel bookings"), ""),
    "beds_per_1000": (gettext_lazy("Beds per 1,000 residents"), ""),
    "health_workers_per_1000": (gettext_lazy("Health workers per 1,000 residents"), ""),
}
DASH = "—"


def number(value) -> str:
    return DASH if value is None else f"{value:,}"


def alert_wall(alerts: dict, user, reach: str) -> list[dict]:
    """The alert wall's counts with their labels, and the list each opens where the user can
    open it (the bureau reads no patient list: its counts link nowhere but the dashboard)."""
    office = reach != DISTRICT
    minutes = settings.CRITICAL_VALUE_ACK_MINUTES
    rows = [
        ("overdue_referrals", _("Overdue referrals"), reverse("referrals:incoming")),
        (
            "critical_values_unacknowledged",
            _("Critical values unacknowledged past %(minutes)s minutes") % {"minutes": minutes},
            reverse("sharedcenters:order-list") + "?critical=open",
        ),
        ("members_without_data", _("Members without data this month"), None),
        (
            "failed_jobs",
            _("Failed imports and recomputations"),
            reverse("reporting:import-list"),
        ),
    ]
    wall = []
    for key, label, url in rows:
        if key == "members_without_data":
            url = reverse("reporting:dashboard")
        elif not office:
            url = None
        wall.append({"key": key, "label": label, "count": alerts[key], "url": url})
    return wall


@method_decorator(never_cache, name="dispatch")
class CockpitView(RestrictedMixin, PermissionRequiredMixin, TemplateView):
    template_name = "reporting/cockpit.html"

    def has_permission(self) -> bool:
        return rules.test_rule("reporting.reads_cockpit", self.request.user)

    def get_context_data(self, **kwargs):
        board = cockpit(self.request.user)
        if board is None:
            raise Http404
        data = cockpit_data(board)
        tiles = []
        for tile in data["tiles"]:
            label, unit = TILES[tile["key"]]
            tiles.append(
                tile
                | {
                    "label": label,
                    "unit": unit,
                    "current_text": number(tile["current"]),
                    "previous_text": number(tile["previous"]),
                }
            )
        labels = {
            "up": _("Up"),
            "down": _("Down"),
            "flat": _("Unchanged"),
            "previous": _("Previous month"),
            "dash": DASH,
            "units": {key: str(unit) for key, (_label, unit) in TILES.items()},
            "ranking_title": _("Referrals this month"),
            "sent": _("Referrals sent"),
            "received": _("Referrals received"),
            "failed": _("The figures could not be updated; retrying."),
        }
        return super().get_context_data(
            **kwargs,
            board=board,
            tiles=tiles,
            alerts=alert_wall(data["alerts"], self.request.user, board.reach),
            ranking=data["ranking"],
            cockpit_labels=labels,
            cockpit_initial=data,
            refresh_seconds=REFRESH_SECONDS,
        )
