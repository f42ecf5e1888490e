"""The append-only access log (等保2.0 安全审计): who signed in, saw, changed or exported what."""

from __future__ import annotations

from collections.abc import Iterable

import pgtrigger
from django.apps import apps
from django.conf import settings
from django.db import connections, models
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.choices import AccessKind

from ..choices import PATIENT_ACCESS_KINDS

# How many ids of each kind the auditor's page shows in a row (the CSV export has them all).
SUMMARY_IDS = 8


class AccessLogQuerySet(models.QuerySet):
    def patient_accesses(self) -> AccessLogQuerySet:
        """Views, registrations, changes and identity-number reveals of patient records."""
        return self.filter(kind__in=PATIENT_ACCESS_KINDS)

    def naming_patients(self, patient_ids: Iterable[int]) -> AccessLogQuerySet:
        """Rows about any of these patients: a row of one patient, or a list that showed them."""
        ids = sorted({int(pk) for pk in patient_ids})
        if not ids:
            return self.none()
        named = models.Q(patient_id__in=ids)
        if connections[self.db].vendor == "postgresql":
            # jsonb containment, one indexed test per patient (GIN index accesslog_patient_ids).
            for pk in ids:
                named |= models.Q(patient_ids__contains=[pk])
            return self.filter(named)
        # Elsewhere (the SQLite of a demo) the array is matched as text.
        pattern = r"(^|[^0-9])(" + "|".join(map(str, ids)) + r")([^0-9]|$)"
        return self.annotate(_patient_ids_text=Cast("patient_ids", models.TextField())).filter(
            named | models.Q(_patient_ids_text__regex=pattern)
        )


class AccessLog(models.Model):
    """The append-only access log: sign-ins and failures, lockouts, views and changes of patient
    records, exports and permission denials. PostgreSQL refuses UPDATE and DELETE on the table
    (a trigger), so not even the application can rewrite it; rows are kept at least 6 months
    (网络安全法 第二十一条) and archived as README §Audit describes."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    kind = models.CharField(_("event"), max_length=24, choices=AccessKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # accounts are deactivated, never deleted, once they acted
        related_name="access_log",
    )
    # As typed at the sign-in form (failed sign-ins may name no account), or the account's.
    username = models.CharField(_("user name"), max_length=150, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    method = models.CharField(_("HTTP method"), max_length=8, blank=True)
    path = models.CharField(_("address"), max_length=255, blank=True)
    patient = models.ForeignKey(
        "Patient",
        verbose_name=_("patient"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    # What a page or an API answer showed (core.audit.shown): the records by model label,
    # {"referrals.referral": [12, 15]}, and every patient they belong to. A list writes one row
    # naming them all; `patient` above is set when there is exactly one.
    records = models.JSONField(_("records shown"), default=dict, blank=True)
    patient_ids = models.JSONField(_("patients shown"), default=list, blank=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        indexes = [
            models.Index(fields=["user", "at"], name="accesslog_user_at"),
            models.Index(fields=["patient", "at"], name="accesslog_patient_at"),
            models.Index(fields=["kind", "at"], name="accesslog_kind_at"),
        ]
        triggers = [
            pgtrigger.Protect(
                name="accesslog_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '-'} {self.get_kind_display()}"

    @property
    def summary(self) -> str:
        """The detail in words, for the auditor's export: every record shown."""
        return self.describe()

    @property
    def short_summary(self) -> str:
        """The same for the auditor's page: the first ids of a long list, then how many more."""
        return self.describe(limit=SUMMARY_IDS)

    def describe(self, limit: int | None = None) -> str:
        detail = self.detail or {}
        if self.kind == AccessKind.EXPORT:
            filters = "; ".join(
                f"{key}={','.join(map(str, value)) if isinstance(value, list) else value}"
                for key, value in (detail.get("filters") or {}).items()
            )
            return _("%(table)s as %(format)s, %(rows)s rows; filter: %(filters)s") % {
                "table": detail.get("table", ""),
                "format": detail.get("format", ""),
                "rows": detail.get("rows", ""),
                "filters": filters or "—",
            }
        if self.kind == AccessKind.UNLOCK and "failures" in detail:
            return _("after %(failures)s failed sign-ins") % detail
        parts = [f"{key}={value}" for key, value in detail.items()]
        parts += self.records_summary(limit)
        return "; ".join(str(part) for part in parts)

    def records_summary(self, limit: int | None = None) -> list[str]:
        """`转诊 #12 #15`, one part per kind of record shown, then the patients."""

        def ids(values: list) -> str:
            shown = values if limit is None else values[:limit]
            text = " ".join(f"#{pk}" for pk in shown)
            if len(values) > len(shown):
                text += " " + _("and %(count)s more") % {"count": len(values) - len(shown)}
            return text

        parts = []
        for label, pks in (self.records or {}).items():
            try:
                name = apps.get_model(label)._meta.verbose_name
            except (LookupError, ValueError):
                name = label
            parts.append(f"{name} {ids(pks)}")
        if len(self.patient_ids or ()) > 1:
            parts.append(
                _("%(count)s patients: %(ids)s")
                % {
                    "count": len(self.patient_ids),
                    "ids": ids(self.patient_ids),
                }
            )
        return parts
