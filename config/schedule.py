"""Every periodic schedule of the platform (Celery beat), imported by settings.py as
CELERY_BEAT_SCHEDULE."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "alliance.tasks.record_worker_heartbeat",
        "schedule": 60.0,
    },
    # Publishes the side effects the broker missed while it was down (core.outbox).
    "alliance-sweep-outbox": {
        "task": "alliance.tasks.sweep_outbox",
        "schedule": 60.0,
    },
    "alliance-purge-expired-api-tokens": {
        "task": "alliance.tasks.purge_expired_api_tokens",
        "schedule": 3600.0,
    },
    "referrals-escalate-overdue": {
        "task": "referrals.tasks.escalate_overdue_referrals",
        "schedule": 60.0,
    },
    "sharedcenters-escalate-critical-values": {
        "task": "sharedcenters.tasks.escalate_critical_values",
        "schedule": 60.0,
    },
    # Nightly, after the hospitals' overnight exports: the current periods' indicators.
    "reporting-recompute-current-periods": {
        "task": "reporting.tasks.recompute_current_periods",
        "schedule": crontab(hour=2, minute=30),
    },
    # Marks failed the jobs whose worker died: no heartbeat for JOB_HEARTBEAT_TIMEOUT_MINUTES.
    "reporting-sweep-stale-jobs": {
        "task": "reporting.tasks.sweep_stale_jobs",
        "schedule": 60.0,
    },
}
