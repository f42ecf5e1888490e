"""Sterilization: instrument sets, cycles, the packages they sterilize and the events of both."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from alliance.models import Institution, Patient
from core.events import Event
from core.history import tracked

from ..choices import CycleStatus, IndicatorResult, PackageStatus, SterilizationMethod
from ..querysets import PackageQuerySet, SterilizationCycleQuerySet
from .centers import SharedCenter


class InstrumentSet(models.Model):
    """A kind of reusable instrument set the sterilization center processes."""

    center = models.ForeignKey(
        SharedCenter,
        verbose_name=_("center"),
        on_delete=models.CASCADE,
        related_name="instrument_sets",
    )
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    contents = models.TextField(_("contents"), blank=True)
    method = models.CharField(
        _("sterilization method"), max_length=16, choices=SterilizationMethod.choices
    )
    shelf_life_days = models.PositiveSmallIntegerField(
        _("shelf life (days)"), validators=[MinValueValidator(1)]
    )
    implant = models.BooleanField(
        _("implants"),
        default=False,
        help_text=_("Released only after the biological indicator has passed."),
    )

    class Meta:
        ordering = ["center", "code"]
        verbose_name = _("instrument set")
        verbose_name_plural = _("instrument sets")
        constraints = [
            models.UniqueConstraint(fields=["center", "code"], name="instrument_set_unique_code")
        ]

    def __str__(self) -> str:
        return self.name


class SterilizationCycle(models.Model):
    """One load of one sterilizer, with its physical, chemical and biological indicators."""

    center = models.ForeignKey(
        SharedCenter, verbose_name=_("center"), on_delete=models.PROTECT, related_name="cycles"
    )
    sterilizer = models.CharField(_("sterilizer"), max_length=40)
    cycle_number = models.CharField(_("cycle number"), max_length=40)
    method = models.CharField(_("method"), max_length=16, choices=SterilizationMethod.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=CycleStatus.choices, default=CycleStatus.RUNNING
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    physical_result = models.CharField(
        _("physical indicator"),
        max_length=8,
        choices=IndicatorResult.choices,
        default=IndicatorResult.PENDING,
    )
    chemical_result = models.CharField(
        _("chemical indicator"),
        max_length=8,
        choices=IndicatorResult.choices,
        default=IndicatorResult.PENDING,
    )
    biological_result = models.CharField(
        _("biological indicator"),
        max_length=8,
        choices=IndicatorResult.choices,
        default=IndicatorResult.PENDING,
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        related_name="sterilization_cycles",
    )
    recalled_at = models.DateTimeField(_("recalled at"), null=True, blank=True)
    recalled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recalled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sterilization_recalls",
    )
    recall_reason = models.TextField(_("recall reason"), blank=True)

    objects = SterilizationCycleQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("sterilization cycle")
        verbose_name_plural = _("sterilization cycles")
        constraints = [
            models.UniqueConstraint(
                fields=["center", "sterilizer", "cycle_number"], name="cycle_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sterilizer} #{self.cycle_number}"

    @property
    def indicators_failed(self) -> bool:
        return IndicatorResult.FAILED in (
            self.physical_result,
            self.chemical_result,
            self.biological_result,
        )


@tracked("PackageHistory")
class Package(models.Model):
    """One physical instrument package, traced by its barcode through every step."""

    barcode = models.CharField(_("barcode"), max_length=40, unique=True)
    instrument_set = models.ForeignKey(
        InstrumentSet,
        verbose_name=_("instrument set"),
        on_delete=models.PROTECT,
        related_name="packages",
    )
    owner = models.ForeignKey(
        Institution,
        verbose_name=_("member institution"),
        on_delete=models.PROTECT,
        related_name="instrument_packages",
    )
    location = models.ForeignKey(
        Institution,
        verbose_name=_("where it is now"),
        on_delete=models.PROTECT,
        related_name="instrument_packages_here",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=PackageStatus.choices,
        default=PackageStatus.COLLECTED,
    )
    cycle = models.ForeignKey(
        SterilizationCycle,
        verbose_name=_("last sterilization cycle"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="packages",
    )
    sterilized_at = models.DateTimeField(_("sterilized at"), null=True, blank=True)
    expires_on = models.DateField(_("sterile until"), null=True, blank=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_for_patient = models.ForeignKey(
        Patient,
        verbose_name=_("used for patient"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="instrument_packages",
    )
    procedure = models.CharField(_("procedure"), max_length=120, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PackageQuerySet.as_manager()

    class Meta:
        ordering = ["barcode"]
        verbose_name = _("instrument package")
        verbose_name_plural = _("instrument packages")
        indexes = [
            models.Index(fields=["status", "location"], name="package_worklist"),
            models.Index(fields=["owner", "status"], name="package_owner"),
        ]

    def __str__(self) -> str:
        return self.barcode


class PackageEvent(models.Model):
    """One step of a package; a batch scan writes one event per package."""

    package = models.ForeignKey(
        Package, verbose_name=_("package"), on_delete=models.CASCADE, related_name="events"
    )
    from_status = models.CharField(
        _("from"), max_length=20, choices=PackageStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=PackageStatus.choices)
    cycle = models.ForeignKey(
        SterilizationCycle,
        verbose_name=_("cycle"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="package_events",
    )
    location = models.ForeignKey(
        Institution, verbose_name=_("where"), on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="package_events",
    )
    at = models.DateTimeField(_("time"))
    note = models.TextField(_("note"), blank=True)
    patient = models.ForeignKey(
        Patient,
        verbose_name=_("patient"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="instrument_package_uses",
    )
    procedure = models.CharField(_("procedure"), max_length=120, blank=True)
    supply_request = models.ForeignKey(
        "SupplyRequest",
        verbose_name=_("supply request"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="package_events",
        help_text=_("The request a dispatch served."),
    )

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("package event")
        verbose_name_plural = _("package events")
        indexes = [
            models.Index(fields=["package", "at"], name="package_event_trace"),
            models.Index(fields=["cycle", "to_status"], name="package_event_cycle"),
        ]

    def __str__(self) -> str:
        return f"{self.package} {self.from_status}→{self.to_status}"


class CycleEvent(Event):
    """A step of a sterilization cycle: started, results recorded, released, failed, recalled."""

    cycle = models.ForeignKey(
        SterilizationCycle,
        verbose_name=_("cycle"),
        on_delete=models.CASCADE,
        related_name="events",
    )

    class Meta(Event.Meta):
        verbose_name = _("cycle event")
        verbose_name_plural = _("cycle events")
        indexes = [models.Index(fields=["cycle", "at"], name="cycle_event_timeline")]

    def __str__(self) -> str:
        return f"{self.cycle} {self.from_status}→{self.to_status}"
