from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllianceConfig(AppConfig):
    name = "alliance"
    verbose_name = _("Alliance and institutions")

    def ready(self) -> None:
        # Imports here, not at the top: models, receivers and hooks load once the app registry is.
        from core import registry

        from . import rules  # noqa: F401  (registers the permissions with django-rules)
        from .demo import load_demo

        registry.demo_loaders.register("alliance", load_demo)
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_save, pre_save

        from core.api.authentication import token_used

        from .signals import (
            log_lockout,
            note_credential_change,
            revoke_sign_in_tokens,
            revoke_tokens_after_credential_change,
        )

        user_locked_out.connect(log_lockout, dispatch_uid="alliance-log-lockout")
        user_logged_out.connect(revoke_sign_in_tokens, dispatch_uid="alliance-revoke-tokens")
        # Accounts are saved as Django's User and as the tracked Account proxy (alliance.models):
        # the receivers listen to those two senders only, not to every save in the project.
        from django.contrib.auth import get_user_model

        from .models import Account

        for sender in (get_user_model(), Account):
            pre_save.connect(
                note_credential_change,
                sender=sender,
                dispatch_uid=f"alliance-credential-change-{sender.__name__}",
            )
            post_save.connect(
                revoke_tokens_after_credential_change,
                sender=sender,
                dispatch_uid=f"alliance-credential-revoke-{sender.__name__}",
            )
        # A personal or machine token at work is in the access log once a minute.
        from .tokens import note_use

        token_used.connect(note_use, dispatch_uid="alliance-token-used")
