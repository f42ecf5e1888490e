"""Every URL of the site is served by a view on the restricted bases, or is on the short list
of public and own-account views below: a page or endpoint added on a plain `View` fails here.

The bases (core.access) restrict whatever `get_queryset()` returns to the user's rows, overrides
included, and put what a read shows in the access log; single rows come from `<model>_for_user`
selectors. A view on the list below shows no restricted row, or only the user's own.
"""

from __future__ import annotations

import ast
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver, path
from django.views import View
from rest_framework.views import APIView

from core.access import RestrictedMixin, RestrictedViewSetMixin

BASES = (RestrictedMixin, RestrictedViewSetMixin)

# The Django admin is a separate site: staff accounts only, Django's model permissions, and
# no page of it is linked from the staff pages. Every pattern under it is left out.
ALLOWED_NAMESPACES = {"admin"}

ALLOWED = {
    # Public: no account yet, or nothing of anyone's.
    "django.contrib.auth.views.LoginView": "the sign-in page",
    "alliance.api.views.TokenView": "the API sign-in (a token for a password and code)",
    "alliance.views.pages.health": "liveness for load balancers: no row, no user",
    "django.views.i18n.set_language": "the language switch: a cookie",
    "rest_framework.routers.APIRootView": "the API's index of endpoint URLs: no row",
    "drf_spectacular.views.SpectacularAPIView": "the schema (signed in, no row)",
    "drf_spectacular.views.SpectacularSwaggerSplitView": "the API docs (signed in, no row)",
    "drf_spectacular.views.SpectacularRedocView": "the API docs (signed in, no row)",
    # The user's own account: their session, password, second factor and tokens.
    "django.contrib.auth.views.LogoutView": "ends one's own session",
    "django.contrib.auth.views.PasswordChangeView": "one's own password",
    "django.contrib.auth.views.PasswordChangeDoneView": "one's own password",
    "alliance.views.account.TwoFactorSetupView": "one's own second factor",
    "alliance.views.account.TwoFactorVerifyView": "one's own second factor",
    "alliance.views.account.TwoFactorDisableView": "one's own second factor",
    "alliance.views.tokens.PersonalTokensView": "one's own API tokens",
    "alliance.views.tokens.PersonalTokenRevokeView": "one's own API tokens",
    "alliance.api.views.me": "one's own name, role and institution",
    "alliance.views.inbox.NotificationListView": "one's own inbox (request.user.notifications)",
    "alliance.views.inbox.NotificationMarkAllReadView": "marks one's own inbox read",
    # Credentials and the ledger, not records: their own rules, named here.
    "alliance.views.tokens.OfficeTokensView": (
        "the office's token page: credentials of its alliances' staff, chosen by "
        "alliance.tokens.office_tokens(user); no patient row"
    ),
    "alliance.views.tokens.OfficeTokenRevokeView": "the same tokens, by alliance.tokens",
    "alliance.views.audit.AccessLogView": (
        "the access log: the security auditor's ledger of every access, which restrict() "
        "would hide from them (they see no record); alliance.view_accesslog guards it"
    ),
}


def view_of(pattern: URLPattern) -> tuple[str, type | None]:
    """The dotted name of a pattern's view and its class (None for a plain function view)."""
    callback = pattern.callback
    cls = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if cls is not None:
        # @api_view names its generated class after the function (alliance.api.views.me).
        return f"{cls.__module__}.{cls.__name__}", cls
    return f"{callback.__module__}.{callback.__qualname__}", None


def unguarded(resolver: URLResolver, prefix: str = "") -> list[str]:
    """Routes whose view is neither on the bases nor allowed, as "route → view"."""
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace not in ALLOWED_NAMESPACES:
                found += unguarded(entry, prefix + str(entry.pattern))
            continue
        name, cls = view_of(entry)
        if name in ALLOWED or (cls is not None and issubclass(cls, BASES)):
            continue
        found.append(f"{prefix}{entry.pattern} → {name}")
    return found


def test_every_view_is_on_the_restricted_bases_or_allowed():
    assert unguarded(get_resolver()) == []


def test_the_allowlist_names_only_views_the_site_has():
    names = set()

    def collect(resolver):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                collect(entry)
            else:
                names.add(view_of(entry)[0])

    collect(get_resolver())
    assert set(ALLOWED) - names == set()


class PlainPage(View):
    pass


class PlainEndpoint(APIView):
    pass


class RestrictedPage(RestrictedMixin, View):
    pass


def test_a_plain_view_or_api_view_is_caught():
    urls = URLResolver(
        get_resolver().pattern,
        [
            path("plain/", PlainPage.as_view()),
            path("api/plain/", PlainEndpoint.as_view()),
            path("fine/", RestrictedPage.as_view()),
        ],
    )
    assert unguarded(urls) == [
        f"plain/ → {__name__}.PlainPage",
        f"api/plain/ → {__name__}.PlainEndpoint",
    ]


# Views take their rows from the restricted bases' get_queryset() or from selectors
# (<app>/selectors.py, functions of the user), never by restricting a queryset themselves
# (CONTRIBUTING.md, core.access): which rows a user sees is then decided in one place per app.
ROOT = Path(__file__).resolve().parents[2]
VIEW_MODULES = ("*/views*.py", "*/views/*.py", "*/api/views*.py", "*/api/views/*.py")


def restrict_calls(source: str, filename: str = "<source>") -> list[int]:
    """Lines of `source` calling `<anything>.restrict(...)`."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source, filename))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "restrict"
    ]


def test_no_view_module_restricts_a_queryset_itself():
    modules = sorted({path for pattern in VIEW_MODULES for path in ROOT.glob(pattern)})
    assert modules, "no view module found"
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in modules
        for line in restrict_calls(path.read_text(encoding="utf-8"), str(path))
    ]
    assert found == []


def test_a_restrict_call_in_a_view_is_caught():
    source = (
        "def get_queryset(self):\n"
        "    # restrict(user) in a comment is fine\n"
        "    return Package.objects.restrict(self.request.user).filter(a=1)\n"
    )
    assert restrict_calls(source) == [3]
