from django.urls import path

from . import views

app_name = "referrals"

urlpatterns = [
    path("", views.ReferralListView.as_view(), name="list"),
    path("incoming/", views.IncomingWorklistView.as_view(), name="incoming"),
    path("to-refer-back/", views.ReferBackListView.as_view(), name="to-refer-back"),
    path("new/", views.ReferralCreateView.as_view(), name="create"),
    path("follow-ups/", views.FollowUpListView.as_view(), name="follow-ups"),
    path("limits/", views.ResponseLimitsView.as_view(), name="limits"),
    path("follow-ups/<int:pk>/done/", views.FollowUpDoneView.as_view(), name="follow-up-done"),
    path("<int:pk>/", views.ReferralDetailView.as_view(), name="detail"),
    path("<int:pk>/slip/", views.ReferralSlipView.as_view(), name="slip"),
    path("<int:pk>/attachments/", views.AttachmentUploadView.as_view(), name="attach"),
    path(
        "<int:pk>/attachments/<int:attachment_id>/",
        views.AttachmentDownloadView.as_view(),
        name="attachment",
    ),
    path("<int:pk>/<slug:action>/", views.ReferralActionView.as_view(), name="action"),
]
