from django.urls import path

from . import views

app_name = "reporting"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("cockpit/", views.CockpitView.as_view(), name="cockpit"),
    path(
        "institutions/<int:pk>/",
        views.InstitutionDashboardView.as_view(),
        name="institution",
    ),
    path("recompute/", views.RecomputeListView.as_view(), name="recompute"),
    path("recompute/<int:pk>/", views.RecomputeDetailView.as_view(), name="recompute-detail"),
    path("recompute/<int:pk>/rerun/", views.RecomputeRerunView.as_view(), name="recompute-rerun"),
    path("imports/", views.ImportListView.as_view(), name="import-list"),
    path("imports/<int:pk>/", views.ImportDetailView.as_view(), name="import-detail"),
    path("imports/<int:pk>/confirm/", views.ImportConfirmView.as_view(), name="import-confirm"),
    path("imports/<int:pk>/rerun/", views.ImportRerunView.as_view(), name="import-rerun"),
    path(
        "imports/template/<slug:kind>.csv",
        views.ImportTemplateView.as_view(),
        name="import-template",
    ),
]
