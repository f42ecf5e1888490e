"""An authentication backend that refuses sign-ins from an address that has just failed many
times, over however many usernames (django-axes locks a username and address pair only)."""

from __future__ import annotations

import datetime

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from .audit import log_model
from .choices import AccessKind


def recent_failures_from(address: str) -> int:
    since = timezone.now() - datetime.timedelta(minutes=settings.LOGIN_ADDRESS_WINDOW_MINUTES)
    return (
        log_model()
        .objects.filter(kind=AccessKind.LOGIN_FAILED, ip_address=address, at__gte=since)
        .count()
    )


def address_is_refused(address: str | None) -> bool:
    """Whether sign-ins from this address are refused now (the sign-in page says so)."""
    return bool(address) and recent_failures_from(address) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT


class AddressThrottleBackend:
    """First of AUTHENTICATION_BACKENDS. The limit is far above axes' 5 per username, so that
    a hospital's staff behind one NAT address are not locked out by each other's typos."""

    def authenticate(self, request, **credentials):
        address = get_client_ip_address(request) if request is not None else None
        if address_is_refused(address):
            # PermissionDenied stops authenticate() and counts as one more failure.
            raise PermissionDenied("too many failed sign-ins from this address")
        return None

    # No get_user: sessions belong to the backend that authenticated (ModelBackend), and
    # Django's test client's force_login skips a backend without one.
