from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from alliance import views as alliance_views
from alliance.forms import LoginForm

admin.site.site_header = settings.ADMIN_SITE_HEADER
admin.site.site_title = settings.ADMIN_SITE_HEADER

docs_csp = csp_update({"style-src": [UNSAFE_INLINE]})
# Redoc's search runs in a worker made from a blob; its web fonts and logo (CDN) stay blocked.
redoc_csp = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})

urlpatterns = [
    path("", alliance_views.HomeView.as_view(), name="home"),
    path(
        "accounts/login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/2fa/", alliance_views.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path(
        "accounts/2fa/verify/",
        alliance_views.TwoFactorVerifyView.as_view(),
        name="two_factor_verify",
    ),
    path(
        "accounts/2fa/disable/",
        alliance_views.TwoFactorDisableView.as_view(),
        name="two_factor_disable",
    ),
    path("accounts/tokens/", alliance_views.PersonalTokensView.as_view(), name="api_tokens"),
    path(
        "accounts/tokens/<slug:digest>/revoke/",
        alliance_views.PersonalTokenRevokeView.as_view(),
        name="api_token_revoke",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz/", alliance_views.health, name="health"),
    path("notifications/", alliance_views.NotificationListView.as_view(), name="notifications"),
    path(
        "notifications/read-all/",
        alliance_views.NotificationMarkAllReadView.as_view(),
        name="notifications-read-all",
    ),
    path("alliance/", include("alliance.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("alliance.api.urls")),
    path("api/v1/", include("referrals.api.urls")),
    path("api/v1/", include("sharedcenters.api.urls")),
    path("api/v1/", include("reporting.api.urls")),
    path("referrals/", include("referrals.urls")),
    path("centers/", include("sharedcenters.urls")),
    path("reporting/", include("reporting.urls")),
    # The schema maps every endpoint of a patient-data system: signed-in users only (a token or
    # the session: SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); its viewers ask to sign in.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The API documentation (drf-spectacular's sidecar) injects <style> elements, so those two pages
    # alone relax style-src; their scripts stay 'self' (the split view serves Swagger's as a file).
    path(
        "api/docs/",
        login_required(docs_csp(SpectacularSwaggerSplitView.as_view(url_name="schema"))),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        login_required(redoc_csp(SpectacularRedocView.as_view(url_name="schema"))),
        name="api-redoc",
    ),
]

handler400 = "alliance.views.bad_request"
handler403 = "alliance.views.permission_denied"
handler404 = "alliance.views.page_not_found"
handler500 = "alliance.views.server_error"
