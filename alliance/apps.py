from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllianceConfig(AppConfig):
    name = "alliance"
    verbose_name = _("Alliance and institutions")

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in

        from .middleware_sessions import record_login_time
        from .signals import log_lockout

        user_logged_in.connect(record_login_time, dispatch_uid="alliance-record-login-time")
        user_locked_out.connect(log_lockout, dispatch_uid="alliance-log-lockout")
