from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from alliance import views as alliance_views

admin.site.site_header = settings.ADMIN_SITE_HEADER
admin.site.site_title = settings.ADMIN_SITE_HEADER

urlpatterns = [
    path("", alliance_views.HomeView.as_view(), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz/", alliance_views.health, name="health"),
    path("notifications/", alliance_views.NotificationListView.as_view(), name="notifications"),
    path("alliance/", include("alliance.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("alliance.api.urls")),
    path("api/v1/", include("referrals.api.urls")),
    path("api/v1/", include("sharedcenters.api.urls")),
    path("api/v1/", include("reporting.api.urls")),
    path("referrals/", include("referrals.urls")),
    path("centers/", include("sharedcenters.urls")),
    path("reporting/", include("reporting.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]

handler400 = "alliance.views.bad_request"
handler403 = "alliance.views.permission_denied"
handler404 = "alliance.views.page_not_found"
handler500 = "alliance.views.server_error"
