from django.db import models
from django.utils.translation import gettext_lazy as _


class Direction(models.TextChoices):
    """Always derived from the two institutions (referrals.services.direction_between), never
    taken from the client: up and down between care tiers; lateral between two institutions of
    one tier in different trees (an exam referral from one community centre to another, two
    secondary hospitals); internal within one centre's tree (the centre, its sub-centres and
    stations), a transfer that the indicators never count as a referral up or down."""

    UP = "up", _("Upward")
    DOWN = "down", _("Downward")
    LATERAL = "lateral", _("Lateral")
    INTERNAL = "internal", _("Internal transfer")


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


# Worklists sort the most urgent first.
URGENCY_RANK = {Urgency.EMERGENCY: 0, Urgency.URGENT: 1, Urgency.ROUTINE: 2}


class Service(models.TextChoices):
    OUTPATIENT = "outpatient", _("Outpatient visit")
    ADMISSION = "admission", _("Admission")
    EXAM = "exam", _("Examination")


class ExamType(models.TextChoices):
    CT = "ct", _("CT")
    MRI = "mri", _("MRI")
    CARDIAC_ULTRASOUND = "cardiac_ultrasound", _("Cardiac ultrasound")
    ULTRASOUND = "ultrasound", _("Ultrasound")
    XRAY = "xray", _("X-ray")
    ECG = "ecg", _("ECG")
    ENDOSCOPY = "endoscopy", _("Endoscopy")
    OTHER = "other", _("Other examination")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    INFO_REQUESTED = "info_requested", _("Information requested")
    ACCEPTED = "accepted", _("Accepted")
    SCHEDULED = "scheduled", _("Scheduled")
    ARRIVED = "arrived", _("Arrived")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    NO_SHOW = "no_show", _("No-show")


# Waiting for the receiver to answer: the response clock runs.
AWAITING_RESPONSE = {Status.SUBMITTED}
OPEN_STATUSES = {
    Status.SUBMITTED,
    Status.INFO_REQUESTED,
    Status.ACCEPTED,
    Status.SCHEDULED,
    Status.ARRIVED,
}
CLOSED_STATUSES = {
    Status.COMPLETED,
    Status.REJECTED,
    Status.CANCELLED,
    Status.EXPIRED,
    Status.NO_SHOW,
}


class Action(models.TextChoices):
    """What an event records: the transitions, plus edits that keep the state."""

    CREATE = "create", _("Created")
    SUBMIT = "submit", _("Submitted")
    REQUEST_INFO = "request_info", _("Requested information")
    ACCEPT = "accept", _("Accepted")
    REJECT = "reject", _("Rejected")
    REDIRECT = "redirect", _("Redirected")
    SCHEDULE = "schedule", _("Scheduled")
    ARRIVE = "arrive", _("Arrived")
    COMPLETE = "complete", _("Completed")
    CANCEL = "cancel", _("Cancelled")
    EXPIRE = "expire", _("Expired")
    NO_SHOW = "no_show", _("Did not come")
    ESCALATE = "escalate", _("Escalated to the alliance office")
    REFER_BACK = "refer_back", _("Referred back")
    EDIT = "edit", _("Edited")
    ATTACH = "attach", _("Attached a file")


class Outcome(models.TextChoices):
    OUTPATIENT = "outpatient", _("Treated as outpatient")
    ADMITTED = "admitted", _("Admitted")
    TRANSFERRED = "transferred", _("Transferred")
    DIED = "died", _("Died")
    OTHER = "other", _("Other")


class RejectReason(models.TextChoices):
    NO_CAPACITY = "no_capacity", _("No beds or slots available")
    WRONG_SPECIALTY = "wrong_specialty", _("Not the right specialty")
    NOT_INDICATED = "not_indicated", _("Referral not indicated")
    INCOMPLETE = "incomplete", _("Information incomplete")
    OTHER = "other", _("Other")


class FollowUpKind(models.TextChoices):
    VISIT = "visit", _("Follow-up visit")
    MEDICATION_REVIEW = "medication_review", _("Medication review")
    TEST = "test", _("Re-examination")
    REHABILITATION = "rehabilitation", _("Rehabilitation")
    OTHER = "other", _("Other")
