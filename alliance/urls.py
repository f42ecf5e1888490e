from django.urls import path

from . import views

app_name = "alliance"

urlpatterns = [
    path("institutions/", views.InstitutionDirectoryView.as_view(), name="institution-list"),
    path(
        "institutions/<int:pk>/", views.InstitutionDetailView.as_view(), name="institution-detail"
    ),
    path(
        "institutions/<int:pk>/contacts/",
        views.ContactCardEditView.as_view(),
        name="contact-cards",
    ),
    path("audit/", views.AccessLogView.as_view(), name="access-log"),
    path("tokens/", views.OfficeTokensView.as_view(), name="api-tokens"),
    path(
        "tokens/<slug:digest>/revoke/",
        views.OfficeTokenRevokeView.as_view(),
        name="api-token-revoke",
    ),
    path("patients/", views.PatientListView.as_view(), name="patient-list"),
    path("patients/new/", views.PatientCreateView.as_view(), name="patient-create"),
    path("patients/<int:pk>/", views.PatientDetailView.as_view(), name="patient-detail"),
    path("patients/<int:pk>/edit/", views.PatientUpdateView.as_view(), name="patient-update"),
]
