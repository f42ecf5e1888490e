"""Where care is given: districts, institutions and their departments, alliances, their
memberships and specialty networks."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.history import tracked

from ..choices import (
    CENTER_KINDS,
    KIND_TIER,
    KINDS_NEEDING_PARENT,
    PARENT_KINDS,
    AllianceMode,
    Closeness,
    InstitutionKind,
    Specialty,
    Tier,
)
from ..querysets import InstitutionQuerySet, MembershipQuerySet, RestrictedQuerySet
from ..validators import validate_institution_code, validate_phone


class District(models.Model):
    """An administrative district (行政区), e.g. Pudong New Area."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    code = models.CharField(
        _("division code"),
        max_length=6,
        unique=True,
        validators=[RegexValidator(r"^\d{6}$", _("Enter the six-digit division code."))],
        help_text=_("Six-digit administrative division code, e.g. 310115."),
    )
    population = models.PositiveIntegerField(_("resident population"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return self.name


@tracked("InstitutionHistory")
class Institution(models.Model):
    """A member institution: lead or secondary hospital, community centre, station or clinic."""

    name = models.CharField(_("name"), max_length=128)
    short_name = models.CharField(_("short name"), max_length=32, blank=True)
    code = models.CharField(
        _("institution code"),
        max_length=32,
        unique=True,
        validators=[validate_institution_code],
        help_text=_("Unified social credit code where known, otherwise a stable internal code."),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=InstitutionKind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    district = models.ForeignKey(
        District, verbose_name=_("district"), on_delete=models.PROTECT, related_name="institutions"
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    population_served = models.PositiveIntegerField(
        _("population served"),
        null=True,
        blank=True,
        help_text=_("Resident population of the institution's catchment (常住人口)."),
    )
    approved_beds = models.PositiveIntegerField(_("approved beds"), default=0)
    health_technical_staff = models.PositiveIntegerField(_("health technical staff"), default=0)
    phone = models.CharField(
        _("switchboard"), max_length=32, blank=True, validators=[validate_phone]
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = InstitutionQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("pk")), name="institution_not_own_parent"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="institution_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="institution_longitude_range",
            ),
        ]
        indexes = [models.Index(fields=["kind", "district"], name="institution_kind_district")]

    def __str__(self) -> str:
        return self.name

    @property
    def tier(self) -> str | None:
        return KIND_TIER.get(self.kind)

    def get_tier_display(self) -> str:
        return Tier(self.tier).label if self.tier else "—"

    @property
    def tree_root(self) -> Institution:
        """The centre whose tree the institution is in (centre → sub-centre → station): a
        station's or sub-centre's centre; any other institution is its own root."""
        node, seen = self, {self.pk}
        while node.kind in KINDS_NEEDING_PARENT and node.parent_id not in (None, *seen):
            node = node.parent
            seen.add(node.pk)
        return node

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind in KINDS_NEEDING_PARENT and self.parent is None:
            errors["parent"] = _("A station, village clinic or sub-center belongs to a center.")
        if self.parent is not None:
            ancestor, seen = self.parent, set()
            while ancestor is not None and ancestor.pk not in seen:
                if self.pk is not None and ancestor.pk == self.pk:
                    errors["parent"] = _("An institution cannot be placed under itself.")
                    break
                seen.add(ancestor.pk)
                ancestor = ancestor.parent
            if self.kind == InstitutionKind.SUB_CENTER and self.parent.kind not in CENTER_KINDS:
                errors["parent"] = _("The parent must be a community or township health center.")
            elif self.kind in PARENT_KINDS and self.parent.kind not in PARENT_KINDS[self.kind]:
                errors["parent"] = _(
                    "The parent must be a community or township health center or a sub-center."
                )
        if errors:
            raise ValidationError(errors)


@tracked("DepartmentHistory")
class Department(models.Model):
    """A department (科室) and its contact card: phones, on-duty line, referral intake."""

    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        on_delete=models.CASCADE,
        related_name="departments",
    )
    name = models.CharField(_("name"), max_length=64)
    specialty = models.CharField(
        _("specialty"), max_length=32, choices=Specialty.choices, default=Specialty.OTHER
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True, validators=[validate_phone])
    on_duty_phone = models.CharField(
        _("on-duty phone"), max_length=32, blank=True, validators=[validate_phone]
    )
    accepts_referrals = models.BooleanField(_("accepts referrals"), default=False)
    head = models.CharField(_("head of department"), max_length=64, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["institution__name", "name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "name"], name="department_unique_name_per_institution"
            )
        ]

    def __str__(self) -> str:
        return f"{self.institution.display_name} · {self.name}"


class Alliance(models.Model):
    """A medical alliance (医联体): its mode, how tight it is, and its lead institution."""

    name = models.CharField(_("name"), max_length=128, unique=True)
    mode = models.CharField(_("mode"), max_length=32, choices=AllianceMode.choices)
    closeness = models.CharField(
        _("closeness"), max_length=16, choices=Closeness.choices, default=Closeness.LOOSE
    )
    lead_institution = models.ForeignKey(
        Institution,
        verbose_name=_("lead institution"),
        on_delete=models.PROTECT,
        related_name="led_alliances",
    )
    established_on = models.DateField(_("established on"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    members = models.ManyToManyField(
        Institution, through="Membership", related_name="alliances", verbose_name=_("members")
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("alliance")
        verbose_name_plural = _("alliances")

    def __str__(self) -> str:
        return self.name


@tracked("MembershipHistory")
class Membership(models.Model):
    """An institution's membership of an alliance, from the day it joined until it left."""

    alliance = models.ForeignKey(
        Alliance, verbose_name=_("alliance"), on_delete=models.CASCADE, related_name="memberships"
    )
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    joined_on = models.DateField(_("joined on"))
    left_on = models.DateField(_("left on"), null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["alliance", "joined_on"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["alliance", "institution", "joined_on"], name="membership_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=F("joined_on")),
                name="membership_left_after_joined",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.institution} ∈ {self.alliance}"


class SpecialtyNetwork(models.Model):
    """A specialty sub-network (专科医联体) of an alliance, made of member departments."""

    alliance = models.ForeignKey(
        Alliance,
        verbose_name=_("alliance"),
        on_delete=models.CASCADE,
        related_name="specialty_networks",
    )
    name = models.CharField(_("name"), max_length=128)
    specialty = models.CharField(_("specialty"), max_length=32, choices=Specialty.choices)
    lead_department = models.ForeignKey(
        Department,
        verbose_name=_("lead department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_networks",
    )
    departments = models.ManyToManyField(
        Department, verbose_name=_("member departments"), related_name="specialty_networks"
    )
    description = models.TextField(_("description"), blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["alliance", "name"]
        verbose_name = _("specialty network")
        verbose_name_plural = _("specialty networks")
        constraints = [
            models.UniqueConstraint(fields=["alliance", "name"], name="network_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
