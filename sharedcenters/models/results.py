"""What an order brings back: lab results and the versions of its report."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..choices import ResultFlag
from .orders import ExamOrder


class LabResult(models.Model):
    """One analyte of a lab report."""

    order = models.ForeignKey(
        ExamOrder, verbose_name=_("order"), on_delete=models.CASCADE, related_name="results"
    )
    analyte = models.CharField(_("analyte"), max_length=80)
    value = models.CharField(_("value"), max_length=40)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    reference_range = models.CharField(_("reference range"), max_length=40, blank=True)
    flag = models.CharField(
        _("flag"), max_length=10, choices=ResultFlag.choices, blank=True, default=""
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("lab result")
        verbose_name_plural = _("lab results")

    def __str__(self) -> str:
        return f"{self.analyte} {self.value} {self.unit}".strip()


class ReportVersion(models.Model):
    """A report as it was before an amendment: results are amended, never deleted and rewritten.

    The order holds the current report; each amendment first copies the report it replaces here,
    with who replaced it, when and why. Rows are never changed or deleted (a trigger refuses)."""

    order = models.ForeignKey(
        ExamOrder, verbose_name=_("order"), on_delete=models.PROTECT, related_name="report_versions"
    )
    version = models.PositiveSmallIntegerField(_("version"))
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporting doctor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewing doctor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    findings = models.TextField(_("findings"), blank=True)
    impression = models.TextField(_("impression"), blank=True)
    critical = models.BooleanField(_("critical value"), default=False)
    critical_note = models.TextField(_("critical value details"), blank=True)
    results = models.JSONField(
        _("results"),
        default=list,
        blank=True,
        help_text=_("[{analyte, value, unit, reference_range, flag}] as they were reported."),
    )
    superseded_at = models.DateTimeField(_("amended at"))
    superseded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("amended by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(_("reason for the amendment"))

    class Meta:
        ordering = ["order", "version"]
        verbose_name = _("earlier report version")
        verbose_name_plural = _("earlier report versions")
        constraints = [
            models.UniqueConstraint(fields=["order", "version"], name="report_version_once"),
        ]
        triggers = [
            pgtrigger.Protect(
                name="report_version_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            )
        ]

    def __str__(self) -> str:
        return f"{self.order} v{self.version}"
