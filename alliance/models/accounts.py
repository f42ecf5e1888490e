"""Accounts and what hangs off them: the in-app inbox, the tracked user proxy, API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AbstractAuthToken

from core.history import tracked


class Notification(models.Model):
    """An in-app message to one user (the inbox in the header); also sent by email."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    key = models.CharField(
        _("deduplication key"),
        max_length=100,
        help_text=_("The same key is delivered to a recipient once, however often it is sent."),
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=255, blank=True)
    urgent = models.BooleanField(_("urgent"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_key")
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.title


# Accounts are Django's own model: tracked through a proxy so the triggers' migrations are this
# app's, not django.contrib.auth's. The password hash (a secret) and the sign-in time (sign-ins
# are in the access log) are left out of the history.
@tracked("UserHistory", exclude=["password", "last_login"])
class Account(User):
    class Meta:
        proxy = True
        verbose_name = _("user account")
        verbose_name_plural = _("user accounts")


class ApiTokenKind(models.TextChoices):
    SIGN_IN = "sign_in", _("Sign-in token")
    PERSONAL = "personal", _("Personal access token")
    MACHINE = "machine", _("Machine token")


class ApiToken(AbstractAuthToken):
    """An API bearer credential (django-rest-knox): only its hash is stored; it expires, and it
    is revoked on logout (sign-in tokens), on a password change and when the account is
    deactivated (every kind).

    Kinds (alliance/tokens.py): a sign-in token from POST /api/v1/auth/token/; a personal
    access token a two-factor-verified user names on /accounts/tokens/ for their own scripts;
    a machine token the alliance office issues to a hospital system, whose user is a service
    account of that institution made for it (no password, no browser sign-in)."""

    kind = models.CharField(
        _("kind"), max_length=16, choices=ApiTokenKind.choices, default=ApiTokenKind.SIGN_IN
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    # Issuing a token is its first use (and spares the first request a write).
    last_used_at = models.DateTimeField(_("last used"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who issued a machine token (the alliance office)."),
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "kind"], name="apitoken_user_kind")]
