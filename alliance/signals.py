"""Receivers for authentication events; connected in AllianceConfig.ready()."""

import logging

from .models import ApiToken, ApiTokenKind

logger = logging.getLogger("alliance.auth")


def log_lockout(sender, request, username: str | None, ip_address: str | None, **kwargs) -> None:
    """axes' `user_locked_out`: who was locked out, from where (never the password)."""
    logger.warning("Login locked out: username=%r ip=%s", username, ip_address)


# API tokens never outlive their owner's sign-out, password or account (ApiToken's docstring).
def revoke_sign_in_tokens(sender, request, user, **kwargs) -> None:
    """`user_logged_out`: the sign-in tokens end with the person's session."""
    if user is not None:
        ApiToken.objects.filter(user=user, kind=ApiTokenKind.SIGN_IN).delete()


def note_credential_change(sender, instance, update_fields=None, **kwargs) -> None:
    """`pre_save` of a user: remember whether this save changes the password or deactivates
    the account (one query, skipped for saves that touch neither, such as last_login's)."""
    if instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return
    old = type(instance)._base_manager.filter(pk=instance.pk).values("password", "is_active")
    before = old.first()
    instance._revoke_api_tokens = before is not None and (
        before["password"] != instance.password or (before["is_active"] and not instance.is_active)
    )


def revoke_tokens_after_credential_change(sender, instance, **kwargs) -> None:
    """`post_save` of a user: a new password or a deactivated account ends every token."""
    if getattr(instance, "_revoke_api_tokens", False):
        ApiToken.objects.filter(user=instance).delete()
        instance._revoke_api_tokens = False
