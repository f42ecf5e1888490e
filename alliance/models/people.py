"""The people: staff (a user's role at an institution) and patients (residents known to the
alliance)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import EncryptedTextField
from core.history import tracked

from ..choices import Gender, IdType, Role, Tier
from ..fields import ID_NUMBER_PURPOSE
from ..querysets import (
    InstitutionQuerySet,
    PatientQuerySet,
    RestrictedQuerySet,
    number_hash_or_none,
    patient_scope_for,
)
from ..validators import (
    birth_date_from_id_number,
    derives_from_number,
    gender_from_id_number,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    validate_document_number,
    validate_phone,
)
from .institutions import Department, Institution


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
