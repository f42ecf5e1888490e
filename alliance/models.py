"""Institutions of the alliance, their departments, alliances, staff roles and patients."""

from __future__ import annotations

from collections.abc import Iterable

import pgtrigger
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import connections, models
from django.db.models import F, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from knox.models import AbstractAuthToken

from core.choices import AccessKind
from core.fields import EncryptedTextField
from core.history import tracked

from .choices import (
    CENTER_KINDS,
    KIND_TIER,
    KINDS_NEEDING_PARENT,
    PARENT_KINDS,
    PATIENT_ACCESS_KINDS,
    AllianceMode,
    Closeness,
    Gender,
    IdType,
    InstitutionKind,
    Role,
    Specialty,
    Tier,
)
from .fields import ID_NUMBER_PURPOSE
from .querysets import (
    InstitutionQuerySet,
    MembershipQuerySet,
    PatientQuerySet,
    RestrictedQuerySet,
    number_hash_or_none,
    patient_scope_for,
)
from .validators import (
    birth_date_from_id_number,
    derives_from_number,
    gender_from_id_number,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    validate_document_number,
    validate_institution_code,
    validate_phone,
)
from .visibility import PatientAccess  # noqa: F401  (its own module: who sees which patient)


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
        from .choices import Tier

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


@tracked("StaffProfileHistory")
class StaffProfile(models.Model):
    """Ties a user account to one institution (optionally a department) and one role."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="staff_profile",
    )
    institution = models.ForeignKey(
        Institution, verbose_name=_("institution"), on_delete=models.PROTECT, related_name="staff"
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staff",
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    is_institution_admin = models.BooleanField(
        _("institution administrator"),
        default=False,
        help_text=_("Keeps the departments and contact cards of the institution and its stations."),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True, validators=[validate_phone])

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")
        indexes = [models.Index(fields=["institution", "role"], name="staff_institution_role")]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()}, {self.institution})"

    def clean(self) -> None:
        if self.department_id and self.department.institution_id != self.institution_id:
            raise ValidationError(
                {"department": _("The department must belong to the staff member's institution.")}
            )

    def patient_scope(self) -> InstitutionQuerySet:
        return patient_scope_for(self)

    @property
    def sees_no_rows(self) -> bool:
        """The security auditor reads the access log, no record (core.access.Scope)."""
        return self.role == Role.SECURITY_AUDITOR


# The ciphertext stays out of the history; a changed number shows as a changed hash.
@tracked("PatientHistory", exclude=["id_number"])
class Patient(models.Model):
    """A resident known to the alliance; the identity number is shown masked outside its record."""

    name = models.CharField(pgettext_lazy("person", "name"), max_length=64)
    # Filled in from the number where the document carries them (see clean()).
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), blank=True)
    # Encrypted at rest; the attribute is the plaintext. Uniqueness and exact lookups go through
    # id_number_hash (see alliance/fields.py): look residents up with
    # Patient.objects.with_id_number(number), never by filtering on id_number.
    id_type = models.CharField(
        _("document type"), max_length=24, choices=IdType.choices, default=IdType.RESIDENT
    )
    # Validated with its type in clean(); blank only for a resident without a document.
    id_number = EncryptedTextField(_("identity number"), purpose=ID_NUMBER_PURPOSE, blank=True)
    id_number_hash = models.CharField(
        _("identity number hash"), max_length=64, unique=True, null=True, editable=False
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True, validators=[validate_phone])
    address = models.CharField(_("address"), max_length=255, blank=True)
    home_institution = models.ForeignKey(
        Institution,
        verbose_name=_("home institution"),
        on_delete=models.PROTECT,
        related_name="registered_patients",
        help_text=_("The primary-care institution where the resident is registered."),
    )
    signed = models.BooleanField(_("family-doctor signed"), default=False)
    signing_institution = models.ForeignKey(
        Institution,
        verbose_name=_("signing institution"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="signed_patients",
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        constraints = [
            models.CheckConstraint(
                condition=Q(signed=False)
                | Q(signing_institution__isnull=False, signed_on__isnull=False),
                name="patient_signing_complete",
            ),
            # Only a resident without a document has no number (and so no hash).
            models.CheckConstraint(
                condition=Q(id_type=IdType.NONE, id_number_hash__isnull=True)
                | (~Q(id_type=IdType.NONE) & Q(id_number_hash__isnull=False)),
                name="patient_number_matches_type",
            ),
        ]
        indexes = [
            models.Index(fields=["home_institution", "name"], name="patient_home_name"),
            # The residents of a user's institutions as ids, off the index alone: every member's
            # order query hashes them (sharedcenters ExamOrderQuerySet.visible_to).
            models.Index(fields=["home_institution", "id"], name="patient_home_id"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked_id_number})"

    def save(self, *args, **kwargs) -> None:
        # Kept in step on every save, so that the unique hash always matches the number.
        self.id_number_hash = number_hash_or_none(self.id_number)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "id_number" in update_fields:
            kwargs["update_fields"] = {*update_fields, "id_number_hash"}
        super().save(*args, **kwargs)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @staticmethod
    def hash_id_number(value: str) -> str:
        """The keyed hash stored in id_number_hash; for callers that bypass save()."""
        return number_hash_or_none(value)

    def validate_unique(self, exclude: set[str] | None = None) -> None:
        """Uniqueness lives on the hash; a duplicate is reported on id_number, the field people
        type (as the unique id_number column used to report it)."""
        exclude = set(exclude or ())
        errors: dict[str, list] = {}
        try:
            super().validate_unique(exclude=exclude | {"id_number_hash"})
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if "id_number" not in exclude and self.id_number:
            others = type(self)._default_manager.with_id_number(self.id_number)
            if not self._state.adding and self.pk is not None:
                others = others.exclude(pk=self.pk)
            if others.exists():
                errors.setdefault("id_number", []).append(
                    self.unique_error_message(type(self), ("id_number",))
                )
        if errors:
            raise ValidationError(errors)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        self.id_number = normalize_id_number(self.id_number or "")
        self.id_number_hash = number_hash_or_none(self.id_number)  # the constraints check it
        try:
            validate_document_number(self.id_number, self.id_type)
        except ValidationError as exc:
            errors["id_number"] = exc.messages
        else:
            if derives_from_number(self.id_type):
                # Written in the number: never asked for, never contradicted.
                self.birth_date = birth_date_from_id_number(self.id_number)
                self.gender = gender_from_id_number(self.id_number)
        if not derives_from_number(self.id_type):
            if not self.birth_date:
                errors["birth_date"] = _("Enter the birth date: this document does not carry it.")
            elif self.birth_date > timezone.localdate():
                errors["birth_date"] = _("The birth date is in the future.")
            if not self.gender:
                errors["gender"] = _("Choose the gender: this document does not carry it.")
        if self.signed and (self.signing_institution_id is None or self.signed_on is None):
            errors["signing_institution"] = _(
                "A signed resident needs the signing institution and the signing date."
            )
        elif self.signing_institution_id and self.signing_institution.tier != Tier.PRIMARY:
            errors["signing_institution"] = _("Family doctors sign residents at primary care.")
        if self.signed_on and (
            self.signed_on > timezone.localdate()
            or (self.birth_date and self.signed_on < self.birth_date)
        ):
            errors["signed_on"] = _("The signing date must lie between birth and today.")
        if errors:
            raise ValidationError(errors)


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
        from django.apps import apps

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


class Notification(models.Model):
    """An in-app message to one user (the inbox in the header); also sent by email."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    key = models.CharField(
        _("deduplication key"),
        max_length=100,
        help_text=_("The same key is delivered to a recipient once, however often it is sent."),
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=255, blank=True)
    urgent = models.BooleanField(_("urgent"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_key")
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.title


# Accounts are Django's own model: tracked through a proxy so the triggers' migrations are this
# app's, not django.contrib.auth's. The password hash (a secret) and the sign-in time (sign-ins
# are in the access log) are left out of the history.
@tracked("UserHistory", exclude=["password", "last_login"])
class Account(User):
    class Meta:
        proxy = True
        verbose_name = _("user account")
        verbose_name_plural = _("user accounts")


class ApiTokenKind(models.TextChoices):
    SIGN_IN = "sign_in", _("Sign-in token")
    PERSONAL = "personal", _("Personal access token")
    MACHINE = "machine", _("Machine token")


class ApiToken(AbstractAuthToken):
    """An API bearer credential (django-rest-knox): only its hash is stored; it expires, and it
    is revoked on logout (sign-in tokens), on a password change and when the account is
    deactivated (every kind).

    Kinds (alliance/tokens.py): a sign-in token from POST /api/v1/auth/token/; a personal
    access token a two-factor-verified user names on /accounts/tokens/ for their own scripts;
    a machine token the alliance office issues to a hospital system, whose user is a service
    account of that institution made for it (no password, no browser sign-in)."""

    kind = models.CharField(
        _("kind"), max_length=16, choices=ApiTokenKind.choices, default=ApiTokenKind.SIGN_IN
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    # Issuing a token is its first use (and spares the first request a write).
    last_used_at = models.DateTimeField(_("last used"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Who issued a machine token (the alliance office)."),
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [models.Index(fields=["user", "kind"], name="apitoken_user_kind")]
