from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from alliance.api.references import ReferenceField, ReferencesMixin, Refs
from alliance.api.serializers import PatientSummarySerializer
from alliance.models import Department, Institution, Patient

from ..choices import (
    Action,
    Direction,
    ExamType,
    FollowUpKind,
    Outcome,
    Service,
    Status,
    Urgency,
)
from ..models import FollowUpTask, Referral, ReferralAttachment, ReferralEvent
from ..services import allowed_actions
from ..validators import (
    DEPARTMENT_ELSEWHERE,
    receiving_departments,
    referral_targets,
    sending_departments,
)


# Read-only choices of blank columns answer "": declared, because DRF drops `allow_blank` from a
# read-only model field and the schema's enum would then leave "" out.
class ReferralSerializer(serializers.ModelSerializer):
    patient = PatientSummarySerializer(read_only=True)
    referred_back_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    exam_type = serializers.ChoiceField(choices=ExamType.choices, allow_blank=True, read_only=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Referral
        fields = [
            "id",
            "number",
            "status",
            "direction",
            "urgency",
            "service",
            "exam_type",
            "patient",
            "from_institution",
            "from_department",
            "referring_user",
            "to_institution",
            "to_department",
            "diagnosis_code",
            "diagnosis_text",
            "reason",
            "clinical_summary",
            "consent",
            "priority_reception",
            "priority_exam",
            "priority_admission",
            "due_at",
            "created_at",
            "submitted_at",
            "responded_at",
            "escalated_at",
            "appointment_at",
            "appointment_place",
            "arrived_at",
            "closed_at",
            "outcome",
            "outcome_summary",
            "follow_up_plan",
            "status_note",
            "returns_referral",
            "referred_back_by",
        ]
        read_only_fields = fields


class ReferralDetailSerializer(ReferralSerializer):
    allowed_actions = serializers.SerializerMethodField(
        help_text=_("What the current user may do next.")
    )

    class Meta(ReferralSerializer.Meta):
        fields = [*ReferralSerializer.Meta.fields, "allowed_actions"]
        read_only_fields = fields

    def get_allowed_actions(self, referral: Referral) -> list[str]:
        return [str(a) for a in allowed_actions(self.context["request"].user, referral)]


# --- what a referral body may name (alliance.api.references; the rules: ..validators) ---------


DIRECTION_HELP = _(
    "Derived from the two institutions, never taken from the client: up or down between tiers, "
    "lateral between two institutions of one tier (two community centres), internal within "
    "one centre's tree (a station and its centre). Optional; a value that disagrees is a 400."
)


def _sender(refs: Refs):
    """The sending institution: the referral's, or (on create) the user's own."""
    if refs.instance is not None:
        return refs.instance.from_institution
    return refs.profile.institution if refs.profile is not None else None


def _targets(refs: Refs):
    source = _sender(refs)
    return None if source is None else referral_targets(source)


def _receiving_departments(refs: Refs):
    target = refs.get("to_institution")
    return None if target is None else receiving_departments(target)


def _sending_departments(refs: Refs):
    source = _sender(refs)
    return None if source is None else sending_departments(source)


def _to_institution(**kwargs) -> ReferenceField:
    return ReferenceField(
        queryset=Institution.objects.all(),
        scope=_targets,
        message=_("The institution is not an active member of your alliance."),
        **kwargs,
    )


def _to_department(**kwargs) -> ReferenceField:
    return ReferenceField(
        queryset=Department.objects.all(),
        scope=_receiving_departments,
        message=_("Choose a department of the receiving institution that takes referrals."),
        **kwargs,
    )


def _from_department(**kwargs) -> ReferenceField:
    return ReferenceField(
        queryset=Department.objects.all(),
        scope=_sending_departments,
        message=DEPARTMENT_ELSEWHERE,
        **kwargs,
    )


class ReferralCreateSerializer(ReferencesMixin, serializers.Serializer):
    # Another institution's patient is refused exactly like an id that does not exist, so a
    # request cannot probe which patients exist.
    patient = ReferenceField(queryset=Patient.objects.all())
    to_institution = _to_institution()
    to_department = _to_department(required=False, allow_null=True)
    from_department = _from_department(required=False, allow_null=True)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.ROUTINE)
    service = serializers.ChoiceField(choices=Service.choices, default=Service.OUTPATIENT)
    exam_type = serializers.ChoiceField(choices=ExamType.choices, required=False, allow_blank=True)
    diagnosis_code = serializers.CharField(max_length=16)
    diagnosis_text = serializers.CharField(max_length=200)
    reason = serializers.CharField()
    clinical_summary = serializers.CharField(required=False, allow_blank=True, default="")
    consent = serializers.BooleanField(default=False)
    direction = serializers.ChoiceField(
        choices=Direction.choices, required=False, help_text=DIRECTION_HELP
    )
    submit = serializers.BooleanField(
        default=False, help_text=_("Submit at once instead of keeping a draft.")
    )


# The referral edited is the `instance`: its sending institution bounds the references.
class ReferralUpdateSerializer(ReferencesMixin, serializers.Serializer):
    to_institution = _to_institution()
    to_department = _to_department(allow_null=True)
    from_department = _from_department(allow_null=True)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    service = serializers.ChoiceField(choices=Service.choices)
    exam_type = serializers.ChoiceField(choices=ExamType.choices, allow_blank=True)
    diagnosis_code = serializers.CharField(max_length=16)
    diagnosis_text = serializers.CharField(max_length=200)
    reason = serializers.CharField()
    clinical_summary = serializers.CharField(allow_blank=True)
    consent = serializers.BooleanField()
    direction = serializers.ChoiceField(
        choices=Direction.choices, required=False, help_text=DIRECTION_HELP
    )


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class RequiredNoteSerializer(serializers.Serializer):
    note = serializers.CharField()


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


# The referral redirected is the `instance`.
class RedirectSerializer(ReferencesMixin, serializers.Serializer):
    to_institution = _to_institution()
    to_department = _to_department(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ScheduleSerializer(serializers.Serializer):
    appointment_at = serializers.DateTimeField()
    place = serializers.CharField(max_length=200)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class FollowUpItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FollowUpKind.choices)
    due_in_days = serializers.IntegerField(min_value=1, max_value=365)
    description = serializers.CharField(max_length=300)


class CompleteSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    summary = serializers.CharField()
    follow_up_plan = serializers.CharField(required=False, allow_blank=True, default="")
    follow_up = FollowUpItemSerializer(
        many=True,
        required=False,
        default=list,
        help_text=_("For the community: tasks created when the downward referral is accepted."),
    )


class ReferBackSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    submit = serializers.BooleanField(default=False)


class ReferralEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    action = serializers.ChoiceField(choices=Action.choices)
    from_status = serializers.ChoiceField(choices=Status.choices, allow_blank=True, read_only=True)

    class Meta:
        model = ReferralEvent
        fields = ["id", "action", "from_status", "to_status", "actor", "at", "note", "data"]
        read_only_fields = fields

    def get_actor(self, event: ReferralEvent) -> str | None:
        if event.actor is None:
            return None
        return event.actor.get_full_name() or event.actor.get_username()


class TargetSerializer(serializers.Serializer):
    institution = serializers.IntegerField(source="institution.pk")
    name = serializers.CharField(source="institution.name")
    kind = serializers.CharField(source="institution.kind")
    distance_km = serializers.FloatField(allow_null=True)
    beds = serializers.IntegerField()
    departments = serializers.SerializerMethodField()

    def get_departments(self, target) -> list[dict]:
        return [{"id": d.pk, "name": d.name, "specialty": d.specialty} for d in target.departments]


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ReferralAttachment
        fields = ["id", "name", "content_type", "size", "sha256", "uploaded_at", "url"]
        read_only_fields = fields

    def get_url(self, attachment: ReferralAttachment) -> str:
        return reverse("referral-attachment-download", args=[attachment.referral_id, attachment.pk])


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class FollowUpTaskSerializer(serializers.ModelSerializer):
    patient = PatientSummarySerializer(read_only=True)
    referral_number = serializers.CharField(source="referral.number", read_only=True)

    class Meta:
        model = FollowUpTask
        fields = [
            "id",
            "referral",
            "referral_number",
            "patient",
            "institution",
            "kind",
            "description",
            "due_on",
            "done_at",
            "done_by",
            "note",
        ]
        read_only_fields = fields
