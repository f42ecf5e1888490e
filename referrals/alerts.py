"""The log backend under its former dotted path, for settings that still name it: backends are
registered in core.registry.alert_backends now (see core/alerts.py)."""

from core.alerts import log_alert

__all__ = ["log_alert"]
