"""Receivers for authentication events; connected in AllianceConfig.ready()."""

import logging

logger = logging.getLogger("alliance.auth")


def log_lockout(sender, request, username: str | None, ip_address: str | None, **kwargs) -> None:
    """axes' `user_locked_out`: who was locked out, from where (never the password)."""
    logger.warning("Login locked out: username=%r ip=%s", username, ip_address)
