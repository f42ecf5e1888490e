"""Facts imported from hospital systems, the indicator values computed from them, and jobs.

Facts are never typed in by hand: they arrive through `services.import_facts`. Indicator values
are derived data, recomputed from the facts (and from referrals and orders) whenever they change.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import FactKind, JobKind, JobStatus, PeriodKind, ReferralDirection, VisitType
from .querysets import IndicatorValueQuerySet, JobQuerySet


class OutpatientVisit(models.Model):
    """One visit, or a department's daily total of visits: `visit_count` says which."""

    # No index of its own (the natural key's unique index starts with the institution) and no
    # database constraint: a million imported rows would pay a deferred check each at commit,
    # and the import resolves every institution code itself. PROTECT still guards deletes.
    institution = models.ForeignKey(
        "alliance.Institution",
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    record_id = models.CharField(_("record id"), max_length=64)
    visit_date = models.DateField(_("visit date"))
    visit_type = models.CharField(
        _("visit type"), max_length=16, choices=VisitType.choices, default=VisitType.OUTPATIENT
    )
    department = models.CharField(_("department"), max_length=64, blank=True)
    visit_count = models.PositiveIntegerField(
        _("visits"), default=1, validators=[MinValueValidator(1)]
    )
    total_cost = models.DecimalField(_("total cost (yuan)"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("outpatient visit")
        verbose_name_plural = _("outpatient visits")
        constraints = [
            models.UniqueConstraint(fields=["institution", "record_id"], name="visit_natural_key"),
            models.CheckConstraint(condition=Q(total_cost__gte=0), name="visit_cost_not_negative"),
        ]
        indexes = [models.Index(fields=["visit_date", "institution"], name="visit_by_date")]

    def __str__(self) -> str:
        return f"{self.record_id} {self.visit_date}"


class InpatientStay(models.Model):
    # No index of its own (the natural key's unique index starts with the institution) and no
    # database constraint: a million imported rows would pay a deferred check each at commit,
    # and the import resolves every institution code itself. PROTECT still guards deletes.
    institution = models.ForeignKey(
        "alliance.Institution",
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    stay_id = models.CharField(_("stay id"), max_length=64)
    department = models.CharField(_("department"), max_length=64, blank=True)
    admit_date = models.DateField(_("admission date"))
    discharge_date = models.DateField(
        _("discharge date"), null=True, blank=True, help_text=_("Empty while in hospital.")
    )
    total_cost = models.DecimalField(_("total cost (yuan)"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("inpatient stay")
        verbose_name_plural = _("inpatient stays")
        constraints = [
            models.UniqueConstraint(fields=["institution", "stay_id"], name="stay_natural_key"),
            models.CheckConstraint(condition=Q(total_cost__gte=0), name="stay_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(discharge_date__isnull=True)
                | Q(discharge_date__gte=models.F("admit_date")),
                name="stay_discharge_after_admission",
            ),
        ]
        indexes = [
            models.Index(fields=["discharge_date", "institution"], name="stay_by_discharge"),
            models.Index(fields=["admit_date", "institution"], name="stay_by_admission"),
        ]

    def __str__(self) -> str:
        return f"{self.stay_id} {self.admit_date}–{self.discharge_date or ''}"


class BedCapacity(models.Model):
    """Beds actually open from a date on, until the institution's next record."""

    # No index of its own (the natural key's unique index starts with the institution) and no
    # database constraint: a million imported rows would pay a deferred check each at commit,
    # and the import resolves every institution code itself. PROTECT still guards deletes.
    institution = models.ForeignKey(
        "alliance.Institution",
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    effective_from = models.DateField(_("effective from"))
    open_beds = models.PositiveIntegerField(_("open beds"))

    class Meta:
        verbose_name = _("bed capacity")
        verbose_name_plural = _("bed capacities")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "effective_from"], name="beds_natural_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.institution_id} {self.effective_from}: {self.open_beds}"


class ReferralCount(models.Model):
    """Referrals an institution's own system counted in a month, for the months before the
    platform recorded them: the indicators use the platform's referrals of an institution and
    month where there are any, these counts elsewhere, never both."""

    institution = models.ForeignKey(
        "alliance.Institution",
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    direction = models.CharField(_("direction"), max_length=8, choices=ReferralDirection.choices)
    to_institution_code = models.CharField(
        _("receiving institution code"),
        max_length=64,
        blank=True,
        help_text=_("As the file wrote it; empty when the file does not say."),
    )
    count = models.PositiveIntegerField(_("referrals"))

    class Meta:
        verbose_name = _("referral count")
        verbose_name_plural = _("referral counts")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "month", "direction", "to_institution_code"],
                name="referral_count_natural_key",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="referral_count_month_start"),
        ]
        indexes = [models.Index(fields=["month", "institution"], name="referral_count_by_month")]

    def __str__(self) -> str:
        return f"{self.institution_id} {self.month:%Y-%m} {self.direction}: {self.count}"


class IndicatorValue(models.Model):
    """One indicator for one institution or alliance and one month, quarter or year.

    `value` is empty when the denominator is zero: no value is not the same as zero.
    """

    indicator = models.CharField(_("indicator"), max_length=64)
    institution = models.ForeignKey(
        "alliance.Institution",
        verbose_name=_("institution"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    alliance = models.ForeignKey(
        "alliance.Alliance",
        verbose_name=_("alliance"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    period = models.CharField(_("period"), max_length=8, help_text="2019, 2019-Q3 or 2019-07")
    period_kind = models.CharField(_("period kind"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    value = models.DecimalField(_("value"), max_digits=20, decimal_places=6, null=True)
    numerator = models.DecimalField(_("numerator"), max_digits=20, decimal_places=4, null=True)
    denominator = models.DecimalField(_("denominator"), max_digits=20, decimal_places=4, null=True)
    # Coverage of an alliance's figure drawn from imported facts: its member institutions, and
    # those that supplied facts for every month of the period. Empty: not applicable.
    members = models.PositiveSmallIntegerField(_("member institutions"), null=True, blank=True)
    reporting = models.PositiveSmallIntegerField(_("institutions reporting"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"))

    objects = IndicatorValueQuerySet.as_manager()

    class Meta:
        verbose_name = _("indicator value")
        verbose_name_plural = _("indicator values")
        constraints = [
            models.CheckConstraint(
                condition=Q(institution__isnull=True, alliance__isnull=False)
                | Q(institution__isnull=False, alliance__isnull=True),
                name="indicator_one_scope",
            ),
            models.UniqueConstraint(
                fields=["indicator", "institution", "period"],
                condition=Q(institution__isnull=False),
                name="indicator_institution_period",
            ),
            models.UniqueConstraint(
                fields=["indicator", "alliance", "period"],
                condition=Q(alliance__isnull=False),
                name="indicator_alliance_period",
            ),
        ]
        indexes = [
            models.Index(
                fields=["period_kind", "period_start", "indicator"], name="indicator_by_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator} {self.period}: {self.value}"


class Job(models.Model):
    """A long-running import or recomputation, with progress an operator can watch."""

    kind = models.CharField(_("kind"), max_length=16, choices=JobKind.choices)
    fact_kind = models.CharField(
        _("file kind"), max_length=16, choices=FactKind.choices, blank=True
    )
    status = models.CharField(
        _("status"), max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    institution = models.ForeignKey(
        "alliance.Institution",
        verbose_name=_("institution"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", blank=True)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    progress_done = models.PositiveBigIntegerField(_("done"), default=0)
    progress_total = models.PositiveBigIntegerField(_("total"), null=True, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    # Set while the job runs (each progress report): a running job silent for
    # JOB_HEARTBEAT_TIMEOUT_MINUTES has lost its worker and is marked failed by the sweeper.
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, int(self.progress_done * 100 / self.progress_total))
