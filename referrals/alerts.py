"""Delivery of pre-arrival alerts to a department's on-duty phone.

The platform does not ship an SMS or paging gateway: settings.REFERRAL_ALERT_BACKEND names the
callable that delivers one. This default writes the alert to the log, where an operator sees it.
"""

import logging

logger = logging.getLogger("referrals.alerts")


def log_alert(phone: str, message: str) -> None:
    logger.warning("PRE-ARRIVAL ALERT to %s: %s", phone, message)
