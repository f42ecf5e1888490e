"""Two-factor sign-in (TOTP, django-otp): who must use it, and the middleware that holds a
signed-in but unverified session at the enrolment or code page (等保2.0: two factors for
privileged users; ASVS 6.3).

Mandatory for superusers and for whom the domain's policy names (settings.TWO_FACTOR_POLICY, a
dotted path to `policy(user) -> bool`: alliance.rules.needs_two_factor, by role). Whoever has a
confirmed device must use it. Off entirely when TWO_FACTOR_ENFORCED is false (the default with
DEBUG, for `make run` and its demo accounts, and in the test suite unless a test turns it on).
A token for the API (POST /api/v1/auth/token/) is a session too: the same accounts give their
current code with the password to get one (check_api_code).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit
from .choices import AccessKind

# Set in the session once a user without a device has been let through: no device query on
# every later request of that session. Enrolling clears it.
NOT_ENROLLED_KEY = "_two_factor_not_enrolled"
EXEMPT_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/i18n/", "/static/", "/healthz/")


def required_for(user) -> bool:
    """Must this account sign in with a second factor?"""
    if not settings.TWO_FACTOR_ENFORCED:
        return False
    if user.is_superuser:
        return True
    return bool(import_string(settings.TWO_FACTOR_POLICY)(user))


def device_of(user, *, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=confirmed).first()


def session_verified(user) -> bool:
    """Has this signed-in session given its second factor, where one applies to the account?
    (A personal access token is issued only to such a session: alliance/tokens.py.)"""
    if not settings.TWO_FACTOR_ENFORCED:
        return True
    is_verified = getattr(user, "is_verified", None)  # set on request.user by OTPMiddleware
    if is_verified is not None and is_verified():
        return True
    return device_of(user) is None and not required_for(user)


def check_api_code(request: HttpRequest, user, code: str) -> None:
    """Refuse an API token to an account that needs a second factor unless `code` is its
    authenticator's current one. django-otp throttles a device after wrong codes."""
    from rest_framework import exceptions  # late: only the API needs DRF

    if not settings.TWO_FACTOR_ENFORCED:
        return
    device = device_of(user)
    if device is None:
        if required_for(user):
            raise exceptions.PermissionDenied(
                _(
                    "Two-factor sign-in is required for this account: enrol an authenticator app "
                    "in the browser (/accounts/2fa/) first."
                )
            )
        return
    code = "".join((code or "").split())
    if not code:
        raise exceptions.ValidationError(
            {"otp": [_("Give the current six-digit code of your authenticator app.")]}
        )
    if not (code.isdigit() and device.verify_token(code)):
        audit.record(AccessKind.TWO_FACTOR_FAILED, request=request, user=user, channel="api")
        raise exceptions.AuthenticationFailed(
            _("The code is not correct or has expired; try the next one.")
        )


class TwoFactorMiddleware:
    """After django-otp's OTPMiddleware: an unverified session of an account that needs (or
    has) a second factor reaches only the enrolment and code pages, sign-out and the language
    switch; the session API answers 403 with a JSON body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        blocked = self.blocked(request)
        return blocked if blocked is not None else self.get_response(request)

    def blocked(self, request: HttpRequest) -> HttpResponseBase | None:
        user = request.user
        if (
            not settings.TWO_FACTOR_ENFORCED
            or not user.is_authenticated
            or user.is_verified()
            or request.session.get(NOT_ENROLLED_KEY)
            or request.path.startswith(EXEMPT_PREFIXES)
        ):
            return None
        device = device_of(user)
        if device is None and not required_for(user):
            request.session[NOT_ENROLLED_KEY] = True
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": _("Two-factor verification is required: sign in with your code.")},
                status=403,
            )
        target = "two_factor_verify" if device is not None else "two_factor_setup"
        return redirect(f"{reverse(target)}?next={quote(request.get_full_path())}")
