from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllianceConfig(AppConfig):
    name = "alliance"
    verbose_name = _("Alliance and institutions")

    def ready(self) -> None:
        from core import registry

        from . import rules  # noqa: F401  (registers the permissions with django-rules)
        from .demo import load_demo

        registry.demo_loaders.register("alliance", load_demo)
        from axes.models import AccessAttempt
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
        from django.db.models.signals import post_delete, post_save, pre_save

        from . import audit
        from .middleware_sessions import record_login_time
        from .signals import (
            log_lockout,
            note_credential_change,
            revoke_sign_in_tokens,
            revoke_tokens_after_credential_change,
        )

        user_logged_in.connect(record_login_time, dispatch_uid="alliance-record-login-time")
        user_locked_out.connect(log_lockout, dispatch_uid="alliance-log-lockout")
        user_logged_out.connect(revoke_sign_in_tokens, dispatch_uid="alliance-revoke-tokens")
        # Accounts are saved as Django's User and as the tracked Account proxy (alliance.models):
        # the receivers listen to those two senders only, not to every save in the project.
        from django.contrib.auth import get_user_model

        from .models import Account

        for sender in (get_user_model(), Account):
            pre_save.connect(
                note_credential_change, sender=sender,
                dispatch_uid=f"alliance-credential-change-{sender.__name__}",
            )  # fmt: skip
            post_save.connect(
                revoke_tokens_after_credential_change, sender=sender,
                dispatch_uid=f"alliance-credential-revoke-{sender.__name__}",
            )  # fmt: skip
        # The access log (等保2.0 安全审计): sign-ins, failures, lockouts and unlocks.
        user_logged_in.connect(audit.on_login, dispatch_uid="alliance-audit-login")
        user_logged_out.connect(audit.on_logout, dispatch_uid="alliance-audit-logout")
        user_login_failed.connect(audit.on_login_failed, dispatch_uid="alliance-audit-failed")
        user_locked_out.connect(audit.on_lockout, dispatch_uid="alliance-audit-lockout")
        post_delete.connect(
            audit.on_attempt_deleted, sender=AccessAttempt, dispatch_uid="alliance-audit-unlock"
        )
