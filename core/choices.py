"""Enumerations of the platform."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccessKind(models.TextChoices):
    """What the append-only access log records (等保2.0 安全审计)."""

    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Failed sign-in")
    LOGOUT = "logout", _("Signed out")
    LOCKOUT = "lockout", _("Account locked")
    UNLOCK = "unlock", _("Account unlocked")
    PATIENT_VIEW = "patient_view", _("Viewed a patient record")
    PATIENT_CREATE = "patient_create", _("Registered a patient")
    PATIENT_UPDATE = "patient_update", _("Changed a patient record")
    PATIENT_REVEAL_ID = "patient_reveal_id", _("Viewed a full identity number")
    RECORD_VIEW = "record_view", _("Opened a record")
    LIST_VIEW = "list_view", _("Viewed a list of records")
    FILE_DOWNLOAD = "file_download", _("Downloaded an attachment")
    DOCUMENT = "document", _("Printed a document")
    THROTTLED = "throttled", _("Too many look-ups refused")
    EXPORT = "export", _("Exported data")
    DENIED = "denied", _("Permission denied")
    TWO_FACTOR_ON = "two_factor_on", _("Turned two-factor sign-in on")
    TWO_FACTOR_OFF = "two_factor_off", _("Turned two-factor sign-in off")
    TWO_FACTOR_FAILED = "two_factor_failed", _("Wrong two-factor code")
    TOKEN_CREATED = "token_created", _("Created an API token")
    TOKEN_REVOKED = "token_revoked", _("Revoked an API token")
    # A personal or machine token at work: at most one row per token and minute.
    TOKEN_USED = "token_used", _("Used an API token")
