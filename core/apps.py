from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Platform")

    def ready(self) -> None:
        # Imports here, not at the top: models, receivers and hooks load once the app registry is.
        from . import audit, registry
        from .alerts import log_alert

        registry.alert_backends.register("log", log_alert)

        from axes.models import AccessAttempt
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
        from django.db.models.signals import post_delete

        from .middleware_sessions import record_login_time

        user_logged_in.connect(record_login_time, dispatch_uid="core-record-login-time")
        # The access log (等保2.0 安全审计): sign-ins, failures, lockouts and unlocks.
        user_logged_in.connect(audit.on_login, dispatch_uid="core-audit-login")
        user_logged_out.connect(audit.on_logout, dispatch_uid="core-audit-logout")
        user_login_failed.connect(audit.on_login_failed, dispatch_uid="core-audit-failed")
        user_locked_out.connect(audit.on_lockout, dispatch_uid="core-audit-lockout")
        post_delete.connect(
            audit.on_attempt_deleted, sender=AccessAttempt, dispatch_uid="core-audit-unlock"
        )
