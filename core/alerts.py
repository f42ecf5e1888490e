"""Urgent alerts to an on-duty phone (a pre-arrival alert, a critical value).

The platform ships no SMS or paging gateway. A setting (REFERRAL_ALERT_BACKEND,
CRITICAL_VALUE_ALERT_BACKEND) names the backend: a name registered in
`core.registry.alert_backends` ("log", the default, writes the alert to the log where an operator
sees it), or a dotted path to a callable(phone, message), as a hospital's own gateway.
"""

import logging
from collections.abc import Callable

from django.utils.module_loading import import_string

from core import registry

logger = logging.getLogger("core.alerts")

AlertBackend = Callable[[str, str], None]


def log_alert(phone: str, message: str) -> None:
    logger.warning("PRE-ARRIVAL ALERT to %s: %s", phone, message)


def alert_backend(name: str) -> AlertBackend:
    """The backend a setting names: a registered name, else a dotted path."""
    if name in registry.alert_backends:
        return registry.alert_backends[name]
    return import_string(name)
