from django.urls import path

from . import views

app_name = "alliance"

urlpatterns = [
    path("institutions/", views.InstitutionDirectoryView.as_view(), name="institution-list"),
    path(
        "institutions/<int:pk>/", views.InstitutionDetailView.as_view(), name="institution-detail"
    ),
    path("audit/", views.AccessLogView.as_view(), name="access-log"),
]
