"""Delivery of urgent alerts to a department's on-duty phone: an emergency's pre-arrival alert
(settings.REFERRAL_ALERT_BACKEND), a critical value (CRITICAL_VALUE_ALERT_BACKEND).

The platform does not ship an SMS or paging gateway: each setting names the callable(phone,
message) that delivers one. This default writes the alert to the log, where an operator sees it.
"""

import logging

logger = logging.getLogger("core.alerts")


def log_alert(phone: str, message: str) -> None:
    logger.warning("PRE-ARRIVAL ALERT to %s: %s", phone, message)
