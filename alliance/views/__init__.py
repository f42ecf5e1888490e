"""Pages of the alliance app, one module per area; everything is importable from here."""

from .account import TwoFactorDisableView, TwoFactorSetupView, TwoFactorVerifyView
from .audit import AccessLogView
from .base import PatientSearchMixin
from .contacts import ContactCardEditView
from .inbox import NotificationListView, NotificationMarkAllReadView
from .pages import (
    HomeView,
    InstitutionDetailView,
    InstitutionDirectoryView,
    bad_request,
    health,
    page_not_found,
    permission_denied,
    server_error,
)
from .patients import PatientCreateView, PatientDetailView, PatientListView, PatientUpdateView
from .tokens import (
    OfficeTokenRevokeView,
    OfficeTokensView,
    PersonalTokenRevokeView,
    PersonalTokensView,
)

__all__ = [
    "AccessLogView",
    "ContactCardEditView",
    "HomeView",
    "InstitutionDetailView",
    "InstitutionDirectoryView",
    "NotificationListView",
    "NotificationMarkAllReadView",
    "OfficeTokenRevokeView",
    "OfficeTokensView",
    "PatientCreateView",
    "PatientDetailView",
    "PatientListView",
    "PatientSearchMixin",
    "PatientUpdateView",
    "PersonalTokenRevokeView",
    "PersonalTokensView",
    "TwoFactorDisableView",
    "TwoFactorSetupView",
    "TwoFactorVerifyView",
    "bad_request",
    "health",
    "page_not_found",
    "permission_denied",
    "server_error",
]
