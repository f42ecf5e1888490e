"""The platform's own tables: the transactional outbox and the workers' heartbeats.

Both were alliance's until issue 14 and keep their tables (alliance_outboxmessage,
alliance_workerheartbeat): core's first migration took them over without touching a row."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """Last time each Celery worker ran the heartbeat task: the operator's sign of life."""

    hostname = models.CharField(_("worker"), max_length=255, unique=True)
    seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        db_table = "alliance_workerheartbeat"
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class OutboxMessage(models.Model):
    """A Celery task written in the same transaction as the change it announces (the outbox).

    A rollback takes it away with the change; a commit keeps it even when the broker is down.
    core.outbox publishes it right after the commit and its sweeper retries whatever is
    still pending, so a notification is neither lost nor sent twice."""

    task = models.CharField(_("task"), max_length=200)
    # DjangoJSONEncoder: lazy translations and dates pass as strings, as Celery would send them.
    args = models.JSONField(_("arguments"), default=list, blank=True, encoder=DjangoJSONEncoder)
    kwargs = models.JSONField(
        _("keyword arguments"), default=dict, blank=True, encoder=DjangoJSONEncoder
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(
        _("next attempt"),
        null=True,
        blank=True,
        help_text=_("Set after a failure other than the broker's: the sweeper waits until then."),
    )

    class Meta:
        db_table = "alliance_outboxmessage"
        ordering = ["pk"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            # The sweeper only ever reads the pending few among many sent rows.
            models.Index(
                fields=["created_at"], name="outbox_pending", condition=Q(sent_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)} #{self.pk}"
