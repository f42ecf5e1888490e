from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from alliance.models import Alliance, Institution
from alliance.validators import validate_phone

from ..choices import CenterKind, Modality, SpecimenType
from ..querysets import SharedCenterQuerySet


class SharedCenter(models.Model):
    """A resource-sharing center (资源共享中心) run by one institution for an alliance."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=CenterKind.choices)
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("hosting institution"),
        on_delete=models.PROTECT,
        related_name="shared_centers",
    )
    alliance = models.ForeignKey(
        Alliance,
        verbose_name=_("alliance served"),
        on_delete=models.PROTECT,
        related_name="shared_centers",
    )
    phone = models.CharField(_("contact phone"), max_length=32, validators=[validate_phone])
    on_duty_phone = models.CharField(
        _("on-duty phone"), max_length=32, blank=True, validators=[validate_phone]
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("center staff"),
        blank=True,
        related_name="shared_centers",
    )
    priority_share_percent = models.PositiveSmallIntegerField(
        _("priority share of imaging slots (%)"),
        default=30,
        validators=[MaxValueValidator(100)],
        help_text=_("Reserved for family-doctor-signed residents and referred patients."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = SharedCenterQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("shared center")
        verbose_name_plural = _("shared centers")
        constraints = [
            models.UniqueConstraint(fields=["alliance", "name"], name="center_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ServiceItem(models.Model):
    """One orderable exam or test of a center's catalog, with its turnaround targets."""

    center = models.ForeignKey(
        SharedCenter, verbose_name=_("center"), on_delete=models.CASCADE, related_name="items"
    )
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    modality = models.CharField(_("modality"), max_length=20, choices=Modality.choices, blank=True)
    specimen_type = models.CharField(
        _("specimen"), max_length=10, choices=SpecimenType.choices, blank=True
    )
    tat_routine_hours = models.DecimalField(
        _("target turnaround, routine (hours)"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    tat_urgent_hours = models.DecimalField(
        _("target turnaround, urgent (hours)"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    price = models.DecimalField(
        _("price (yuan)"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    mutual_recognition = models.BooleanField(
        _("mutually recognised"),
        default=True,
        help_text=_("Results recognised by every member (检查检验结果互认)."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["center", "code"]
        verbose_name = _("service item")
        verbose_name_plural = _("service items")
        constraints = [
            models.UniqueConstraint(fields=["center", "code"], name="service_item_unique_code"),
            models.CheckConstraint(
                condition=Q(tat_urgent_hours__lte=models.F("tat_routine_hours")),
                name="service_item_urgent_not_slower",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def target_hours(self, priority: str):
        return self.tat_urgent_hours if priority == "urgent" else self.tat_routine_hours
