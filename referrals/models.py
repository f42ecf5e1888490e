"""Two-way referrals (双向转诊): the referral, its events, follow-up tasks and response limits."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from alliance.models import Department, Institution, Patient
from core.events import Event
from core.history import tracked
from core.numbering import Counter

from .choices import (
    OPEN_STATUSES,
    Action,
    Direction,
    ExamType,
    FollowUpKind,
    Outcome,
    Service,
    Status,
    Urgency,
)
from .querysets import FollowUpTaskQuerySet, ReferralQuerySet, urgency_rank
from .validators import validate_icd10


@tracked("ReferralHistory")
class Referral(models.Model):
    """A patient sent from one institution to another of the alliance, up, down or across."""

    number = models.CharField(_("referral number"), max_length=20, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE
    )
    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="referrals"
    )
    from_institution = models.ForeignKey(
        Institution,
        verbose_name=_("from institution"),
        on_delete=models.PROTECT,
        related_name="referrals_sent",
    )
    from_department = models.ForeignKey(
        Department,
        verbose_name=_("from department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals_sent",
    )
    referring_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("referring doctor"),
        on_delete=models.PROTECT,
        related_name="referrals_made",
    )
    to_institution = models.ForeignKey(
        Institution,
        verbose_name=_("to institution"),
        on_delete=models.PROTECT,
        related_name="referrals_received",
    )
    to_department = models.ForeignKey(
        Department,
        verbose_name=_("to department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals_received",
    )
    service = models.CharField(
        _("requested service"), max_length=12, choices=Service.choices, default=Service.OUTPATIENT
    )
    exam_type = models.CharField(
        _("examination"), max_length=24, choices=ExamType.choices, blank=True
    )
    diagnosis_code = models.CharField(
        _("diagnosis (ICD-10)"), max_length=16, validators=[validate_icd10]
    )
    diagnosis_text = models.CharField(_("diagnosis"), max_length=200)
    reason = models.TextField(_("reason for referral"))
    clinical_summary = models.TextField(_("clinical summary"), blank=True)
    consent = models.BooleanField(_("patient consent recorded"), default=False)
    priority_reception = models.BooleanField(_("priority reception"), default=False)
    priority_exam = models.BooleanField(_("priority examination"), default=False)
    priority_admission = models.BooleanField(_("priority admission"), default=False)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    due_at = models.DateTimeField(_("response due"), null=True, blank=True)
    responded_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    appointment_at = models.DateTimeField(_("appointment"), null=True, blank=True)
    appointment_place = models.CharField(_("appointment place"), max_length=200, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    outcome_summary = models.TextField(_("outcome summary"), blank=True)
    follow_up_plan = models.TextField(_("follow-up plan"), blank=True)
    follow_up_items = models.JSONField(
        _("follow-up items"),
        default=list,
        blank=True,
        help_text=_("[{kind, due_in_days, description}]: become tasks when the community accepts."),
    )
    status_note = models.TextField(
        _("last reason or note"),
        blank=True,
        help_text=_("Rejection, cancellation or information request, as last given."),
    )
    returns_referral = models.OneToOneField(
        "self",
        verbose_name=_("returns the upward referral"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referred_back_by",
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, blank=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        constraints = [
            models.UniqueConstraint(
                fields=["referring_user", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="referral_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=~Q(from_institution=models.F("to_institution")),
                name="referral_between_two_institutions",
            ),
            models.CheckConstraint(
                condition=~Q(service=Service.EXAM) | ~Q(exam_type=""),
                name="referral_exam_has_type",
            ),
        ]
        indexes = [
            models.Index(fields=["to_institution", "status", "due_at"], name="referral_inbox"),
            models.Index(fields=["from_institution", "status"], name="referral_outbox"),
            models.Index(fields=["status", "due_at"], name="referral_overdue"),
            models.Index(fields=["submitted_at"], name="referral_submitted"),
            models.Index(fields=["-created_at", "-id"], name="referral_newest"),
            models.Index(fields=["status", "closed_at"], name="referral_recently_closed"),
            models.Index(urgency_rank(), "due_at", "submitted_at", name="referral_worklist_order"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ReferralEvent(models.Model):
    """One step of a referral: who did what, from which state to which, when, and why."""

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referral_events",
        help_text=_("Empty for the platform's own jobs (expiry, escalation)."),
    )
    at = models.DateTimeField(_("time"), auto_now_add=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("referral event")
        verbose_name_plural = _("referral events")
        indexes = [models.Index(fields=["referral", "at"], name="referral_event_timeline")]

    def __str__(self) -> str:
        return f"{self.referral} {self.action} {self.from_status}→{self.to_status}"


@tracked("ResponseLimitHistory")
class ResponseLimit(models.Model):
    """How long a receiver has to answer a referral of each urgency (set by the office)."""

    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, unique=True)
    minutes = models.PositiveIntegerField(_("minutes to respond"))
    expire_after_minutes = models.PositiveIntegerField(
        _("expire after (minutes)"),
        help_text=_("Past the deadline by this much, an unanswered referral expires."),
    )

    class Meta:
        ordering = ["minutes"]
        verbose_name = _("response limit")
        verbose_name_plural = _("response limits")

    def __str__(self) -> str:
        return f"{self.get_urgency_display()}: {self.minutes} min"


class DailyCounter(Counter):
    """Last referral number issued on each day: numbers are gap-free and never reused."""

    day = models.DateField(unique=True)

    class Meta:
        verbose_name = _("referral number counter")
        verbose_name_plural = _("referral number counters")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


def attachment_path(instance: ReferralAttachment, filename: str) -> str:
    # A random name: the uploader's file name never reaches the file system.

    return f"referrals/{instance.referral_id}/{uuid.uuid4().hex}.{instance.extension}"


class ReferralAttachment(models.Model):
    """A document sent with a referral (report, ECG, image): PDF, JPEG or PNG, content-checked."""

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path)
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=50)
    extension = models.CharField(_("extension"), max_length=8)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="referral_attachments",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


@tracked("FollowUpTaskHistory")
class FollowUpTask(models.Model):
    """A step of a downward referral's follow-up plan for the community institution."""

    referral = models.ForeignKey(
        Referral, verbose_name=_("referral"), on_delete=models.CASCADE, related_name="follow_ups"
    )
    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="follow_ups"
    )
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("responsible institution"),
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=FollowUpKind.choices)
    description = models.CharField(_("description"), max_length=300)
    due_on = models.DateField(_("due on"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_ups_done",
    )
    note = models.TextField(_("note"), blank=True)

    objects = FollowUpTaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        indexes = [
            models.Index(fields=["institution", "done_at", "due_on"], name="followup_worklist")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_on}"


class FollowUpEvent(Event):
    """A step of a follow-up task (its recording as done): who, when, with what note."""

    task = models.ForeignKey(
        FollowUpTask,
        verbose_name=_("follow-up task"),
        on_delete=models.CASCADE,
        related_name="events",
    )

    class Meta(Event.Meta):
        verbose_name = _("follow-up event")
        verbose_name_plural = _("follow-up events")
        indexes = [models.Index(fields=["task", "at"], name="followup_event_timeline")]

    def __str__(self) -> str:
        return f"{self.task} {self.action}"
