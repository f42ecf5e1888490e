from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from alliance.choices import IdType, Tier
from alliance.models import Alliance, Department, Institution, Patient, SpecialtyNetwork
from alliance.selectors import contact_card_scope, registrable_institutions, signing_institutions
from alliance.validators import (
    mask_id_number,
    mask_phone,
    normalize_id_number,
    validate_document_number,
)

from .references import ReferenceField, ReferencesMixin, Refs


class InstitutionSerializer(serializers.ModelSerializer):
    tier = serializers.ChoiceField(
        choices=Tier.choices,
        read_only=True,
        allow_null=True,
        help_text=_("Care tier from the kind; null for kind 'other' (e.g. a health commission)."),
    )
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    district_name = serializers.CharField(source="district.name", read_only=True)
    latitude = serializers.FloatField(read_only=True, allow_null=True)
    longitude = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Institution
        fields = [
            "id",
            "code",
            "name",
            "short_name",
            "kind",
            "kind_display",
            "tier",
            "parent",
            "district",
            "district_name",
            "address",
            "latitude",
            "longitude",
            "population_served",
            "approved_beds",
            "health_technical_staff",
            "phone",
            "is_active",
        ]
        read_only_fields = fields


class DepartmentSerializer(serializers.ModelSerializer):
    institution_name = serializers.CharField(source="institution.name", read_only=True)
    specialty_display = serializers.CharField(source="get_specialty_display", read_only=True)

    class Meta:
        model = Department
        fields = [
            "id",
            "institution",
            "institution_name",
            "name",
            "specialty",
            "specialty_display",
            "phone",
            "on_duty_phone",
            "accepts_referrals",
            "head",
            "is_active",
        ]
        read_only_fields = fields


def _contact_card_scope(refs: Refs):

    return contact_card_scope(refs.user)


def _registrable(refs: Refs):

    return registrable_institutions(refs.user)


def _signing(refs: Refs):

    return signing_institutions(refs.user)


class ContactCardSerializer(ReferencesMixin, DepartmentSerializer):
    """Writes of a contact card by its institution's administrator or the alliance office."""

    # One answer whether the institution exists elsewhere or not.
    institution = ReferenceField(
        queryset=Institution.objects.all(),
        scope=_contact_card_scope,
        message=_("You do not keep the contact cards of this institution."),
        help_text=_("On create only: an institution whose contact cards you keep."),
    )

    class Meta(DepartmentSerializer.Meta):
        read_only_fields = ["id", "institution_name", "specialty_display"]
        # Uniqueness per institution is checked by the model (a 400 naming the field).
        validators = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.fields["institution"].read_only = True


class SpecialtyNetworkSerializer(serializers.ModelSerializer):
    class Meta:
        model = SpecialtyNetwork
        fields = ["id", "name", "specialty", "lead_department", "departments"]
        read_only_fields = fields


class AllianceSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()
    specialty_networks = SpecialtyNetworkSerializer(many=True, read_only=True)

    class Meta:
        model = Alliance
        fields = [
            "id",
            "name",
            "mode",
            "closeness",
            "lead_institution",
            "established_on",
            "description",
            "members",
            "specialty_networks",
        ]
        read_only_fields = fields

    def get_members(self, alliance: Alliance) -> list[dict]:
        return [
            {"institution": m.institution_id, "joined_on": m.joined_on, "left_on": m.left_on}
            for m in alliance.memberships.all()
        ]


class PatientSerializer(ReferencesMixin, serializers.ModelSerializer):
    """Identity number and phone are write-in-full, read-masked."""

    home_institution = ReferenceField(
        label=_("home institution"),
        queryset=Institution.objects.all(),
        scope=_registrable,
        message=_("You may only register residents of your own institutions."),
        help_text=_("The primary-care institution where the resident is registered."),
    )
    signing_institution = ReferenceField(
        label=_("signing institution"),
        queryset=Institution.objects.all(),
        scope=_signing,
        message=_("Choose a primary-care institution of your own to sign the resident."),
        required=False,
        allow_null=True,
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "name",
            "id_type",
            "id_number",
            "gender",
            "birth_date",
            "phone",
            "address",
            "home_institution",
            "signed",
            "signing_institution",
            "signed_on",
        ]
        extra_kwargs = {
            "gender": {
                "help_text": _(
                    "Derived from an 18-digit document number (a value sent is replaced); "
                    "required for a passport or no document."
                )
            },
            "birth_date": {
                "help_text": _(
                    "Derived from an 18-digit document number (a value sent is replaced); "
                    "required for a passport or no document."
                )
            },
            "id_number": {
                "help_text": _(
                    "Full number on write; masked (310115********1234) on read. The full number "
                    "is only returned by POST /api/v1/patients/{id}/reveal-id-number/, which is "
                    "logged."
                ),
                # Room for the spaces people type between groups; they are removed before the
                # model's own 18-character limit and check-digit validation apply.
                "max_length": 24,
                # Uniqueness is checked by the service, which answers 409 without disclosing
                # where the resident is registered.
                "validators": [],
            },
            "phone": {"help_text": _("Full number on write; masked on read.")},
        }

    def to_representation(self, instance: Patient) -> dict:
        data = super().to_representation(instance)
        data["id_number"] = mask_id_number(instance.id_number)
        data["phone"] = mask_phone(instance.phone)
        return data

    def validate_id_number(self, value: str) -> str:
        return value.strip().replace(" ", "").upper()


class PatientLookupSerializer(serializers.Serializer):
    """The full identity number travels in the request body, never in a URL or a log line."""

    id_number = serializers.CharField(max_length=24)
    id_type = serializers.ChoiceField(
        choices=[c for c in IdType.choices if c[0] != IdType.NONE],
        default=IdType.RESIDENT,
        help_text=_("The document the number belongs to; a resident identity card by default."),
    )

    def validate(self, attrs: dict) -> dict:
        value = normalize_id_number(attrs["id_number"])
        try:
            validate_document_number(value, attrs["id_type"])
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"id_number": exc.messages}) from exc
        return {**attrs, "id_number": value}


class PatientSummarySerializer(serializers.ModelSerializer):
    """A patient as referrals and orders show one: the identity number masked."""

    id_number = serializers.SerializerMethodField(help_text=_("Masked."))

    class Meta:
        model = Patient
        fields = ["id", "name", "gender", "birth_date", "id_number", "signed"]
        read_only_fields = fields

    def get_id_number(self, patient: Patient) -> str:
        return mask_id_number(patient.id_number)
