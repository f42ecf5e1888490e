"""The access log's one writer, and the receivers that feed it sign-in events.

Call `record()` where something worth auditing happens; the receivers below are connected in
AllianceConfig.ready(). Rows are append-only (see AccessLog); what goes into `detail` must never
hold an identity number or a password.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from .choices import AccessKind
from .models import AccessLog

# The request being served, so that a row written deep in a service (a patient viewed through
# the API, a record changed on a page) carries its address, method and path like a sign-in's.
current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


class AuditRequestMiddleware:
    """Makes the request known to `record()` for the time it is served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)


def record(
    kind: str,
    *,
    request: HttpRequest | None = None,
    user=None,
    username: str = "",
    patient=None,
    **detail: Any,
) -> AccessLog:
    """Write one access-log row; the user, address and path come from the request if given, else
    from the request being served (none for a Celery task)."""
    if request is None:
        request = current_request.get()
    if user is None and request is not None:
        candidate = getattr(request, "user", None)
        if candidate is not None and candidate.is_authenticated:
            user = candidate
    if user is not None and not username:
        username = user.get_username()
    entry = AccessLog(kind=kind, user=user, username=username[:150], patient=patient, detail=detail)
    if request is not None:
        entry.ip_address = get_client_ip_address(request) or None
        entry.method = request.method or ""
        entry.path = request.path[:255]
    entry.save()
    return entry


# --- receivers (connected in AllianceConfig.ready) -------------------------------------------


def on_login(sender, request, user, **kwargs) -> None:
    record(AccessKind.LOGIN, request=request, user=user)


def on_login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    # Django has already replaced the password in `credentials`; only the name is kept.
    entry = record(
        AccessKind.LOGIN_FAILED, request=request, username=str(credentials.get("username", ""))
    )
    if entry.ip_address:
        from .backends import recent_failures_from

        failures = recent_failures_from(entry.ip_address)
        if failures == settings.LOGIN_ADDRESS_FAILURE_LIMIT:  # once, when the limit is reached
            record(
                AccessKind.LOCKOUT, request=request, scope="address", failures=failures,
                minutes=settings.LOGIN_ADDRESS_WINDOW_MINUTES,
            )  # fmt: skip


def on_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(AccessKind.LOGOUT, request=request, user=user)


def on_lockout(sender, request, username: str | None, ip_address: str | None, **kwargs) -> None:
    record(AccessKind.LOCKOUT, request=request, username=username or "")


def on_attempt_deleted(sender, instance, **kwargs) -> None:
    """An axes attempt record that had reached the limit goes away: the account is unlocked,
    by the cool-off running out, an administrator in the admin or `axes_reset*` commands."""
    if instance.failures_since_start >= settings.AXES_FAILURE_LIMIT:
        entry = AccessLog(
            kind=AccessKind.UNLOCK,
            username=(instance.username or "")[:150],
            ip_address=instance.ip_address or None,
            detail={"failures": instance.failures_since_start},
        )
        entry.save()
