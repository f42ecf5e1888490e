"""API token authentication: django-rest-knox's hashed, expiring tokens, remembering each
token's last use (shown with the token lists) at most once a minute; that same write sends
`token_used`, on which the domain logs the use of a personal or machine token
(alliance.tokens.note_use), so the log costs a request one INSERT a minute per token and nothing
in between. The token model is knox's KNOX_TOKEN_MODEL, with a `last_used_at` field."""

from __future__ import annotations

import datetime

from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication

LAST_USED_EVERY = datetime.timedelta(minutes=1)

# Sent with `token=` when a token's use is written (at most once a minute per token).
token_used = Signal()


class ApiTokenAuthentication(TokenAuthentication):
    def _cleanup_token(self, auth_token) -> bool:
        # Only the presented token: knox also reads all the owner's other tokens on every
        # request; expired ones are purged hourly instead (services.api_tokens_purge_expired).
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
            # Conditional, so that of two requests racing in the same minute one writes the log.
            stale = Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY)
            updated = type(token).objects.filter(stale, pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
            if updated:
                token_used.send(sender=type(token), token=token)
        return user, token


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the token (as DRF's own token scheme was)."""

    target_class = "core.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API token from POST /api/v1/auth/token/, as "Token <token>".',
        }
