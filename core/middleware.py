"""Response middleware: no-store for signed-in users (ASVS 14.3), permission denials audited."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from . import audit
from .choices import AccessKind


class NoStoreForAuthenticatedMiddleware:
    """Send `Cache-Control: no-store, private` on every response to an authenticated request.

    Any page or API answer a signed-in user gets may carry patient data, so the rule is by user
    rather than by URL: nothing can be forgotten. A view that set its own Cache-Control keeps it.
    Static files never get here (whitenoise answers them earlier in MIDDLEWARE).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        # Read after the view: DRF's token authentication sets request.user only while it runs.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store, private"
        return response


class AuditDeniedMiddleware:
    """Write every 403 answer, page or API, to the access log: a permission denial is a
    security event whoever asked (ASVS 16.3: log authorization failures)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code == 403:
            audit.record(AccessKind.DENIED, request=request)
        return response
