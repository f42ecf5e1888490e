"""Per-user rate limits of the API (DRF throttles over the Django cache, Redis in production)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from rest_framework.exceptions import Throttled
from rest_framework.throttling import UserRateThrottle

from core import audit
from core.choices import AccessKind


class IdentityNumberThrottle(UserRateThrottle):
    """Look-ups by full identity number and registrations, per user, together: each answers
    whether a number is registered in the alliance, so a burst of them is an enumeration. Past
    `IDENTITY_NUMBER_RATE` the request is refused with a 429, and the first refusal of a window
    is written to the access log (one row, however long the burst)."""

    scope = "identity_number"
    actions = ("lookup", "create")

    def get_rate(self) -> str:
        # Read at each request (DRF's class-level table is fixed at import): tests and
        # deployments change the setting.
        return settings.IDENTITY_NUMBER_RATE

    def allow(self, request, action: str) -> bool:
        """Count the request against the user's budget; False (and logged once a window) when
        it is spent. For the registration page too, which is no DRF view."""
        if super().allow_request(request, None):
            return True
        # `cache.add` succeeds once a window: the burst is logged once, not once a request.
        if cache.add(f"{self.key}:logged", 1, timeout=self.duration):
            audit.record(
                AccessKind.THROTTLED,
                request=getattr(request, "_request", request),
                scope=self.scope,
                rate=self.rate,
                action=action,
            )
        return False

    def allow_request(self, request, view) -> bool:
        if self.allow(request, getattr(view, "action", "") or ""):
            return True
        raise Throttled(wait=self.wait(), detail=refused_message())


def refused_message() -> str:
    return _("Too many look-ups and registrations by identity number. Try again later.")
