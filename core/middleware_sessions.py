"""Session lifetimes: SESSION_COOKIE_AGE idle, SESSION_ABSOLUTE_SECONDS after login at most.

The idle limit is the stored session's own expiry, which moves on whenever the session is saved.
Rather than saving it on every request (SESSION_SAVE_EVERY_REQUEST: three more queries on every
page), activity is written at most once a minute, so a session ends between 29 and 30 minutes
after the last request. The absolute limit is the one 等保 level 3 asks for: a stolen or
forgotten session cannot be kept alive by activity.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.utils.translation import gettext as _

LOGIN_TIME_KEY = "alliance_login_at"
LAST_SEEN_KEY = "alliance_last_seen"
RENEW_AFTER_SECONDS = 60


def record_login_time(sender, request: HttpRequest, user, **kwargs) -> None:
    """`user_logged_in` receiver: the session remembers when its login happened (epoch seconds)."""
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGIN_TIME_KEY] = now
        request.session[LAST_SEEN_KEY] = now


def session_expired(request: HttpRequest) -> bool:
    """True when the signed-in session is older than the absolute limit or has no login time."""
    started = request.session.get(LOGIN_TIME_KEY)
    if not isinstance(started, int | float):
        return True  # a session from before this rule, or tampered with: log in again
    return time.time() - started > settings.SESSION_ABSOLUTE_SECONDS


class SessionTimeoutMiddleware:
    """Keep an active session alive; log out one past its absolute lifetime.

    The page then asks to log in, the API answers 401. Token-authenticated API calls carry no
    session and are not affected.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.user.is_authenticated and session_expired(request):
            logout(request)  # flushes the server-side session and records the logout
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "detail": _("Your session has expired. Please log in again."),
                        "code": "session_expired",
                    },
                    status=401,
                )
            messages.warning(request, _("Your session has expired. Please log in again."))
            return redirect_to_login(request.get_full_path())
        if request.user.is_authenticated:
            now = int(time.time())
            if now - request.session.get(LAST_SEEN_KEY, 0) >= RENEW_AFTER_SECONDS:
                # A modified session is saved with a fresh expiry: now + SESSION_COOKIE_AGE.
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)
