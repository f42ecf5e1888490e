from django.db import models
from django.utils.translation import gettext_lazy as _


class CenterKind(models.TextChoices):
    LAB = "lab", _("Clinical laboratory center")
    IMAGING = "imaging", _("Imaging center")
    ECG = "ecg", _("ECG diagnosis center")
    STERILIZATION = "sterilization", _("Sterilization supply center")


# Centers that take diagnostic orders (the sterilization center works with packages instead).
DIAGNOSTIC_KINDS = (CenterKind.LAB, CenterKind.IMAGING, CenterKind.ECG)
ORDER_PREFIX = {CenterKind.LAB: "JY", CenterKind.IMAGING: "YX", CenterKind.ECG: "XD"}
# Supply requests to the sterilization center are numbered from the same per-day counters.
SUPPLY_REQUEST_PREFIX = "SQ"


class Modality(models.TextChoices):
    CT = "ct", _("CT")
    MRI = "mri", _("MRI")
    DR = "dr", _("DR (digital radiography)")
    ULTRASOUND = "ultrasound", _("Ultrasound")
    CARDIAC_ULTRASOUND = "cardiac_ultrasound", _("Cardiac ultrasound")
    ECG = "ecg", _("ECG")


class SpecimenType(models.TextChoices):
    BLOOD = "blood", _("Blood")
    SERUM = "serum", _("Serum")
    URINE = "urine", _("Urine")
    STOOL = "stool", _("Stool")
    SPUTUM = "sputum", _("Sputum")
    OTHER = "other", _("Other specimen")


class Priority(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    URGENT = "urgent", _("Urgent")


class OrderStatus(models.TextChoices):
    ORDERED = "ordered", _("Ordered")
    COLLECTED = "collected", _("Specimen collected")
    SCHEDULED = "scheduled", _("Scheduled")
    RECEIVED = "received", _("Received at the center")
    REJECTED = "rejected", _("Specimen rejected")
    IN_PROGRESS = "in_progress", _("In progress")
    REPORTED = "reported", _("Reported")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CANCELLED = "cancelled", _("Cancelled")


# Still waiting for the center's report: what worklists and on-time checks look at.
OPEN_ORDER_STATUSES = frozenset(
    {
        OrderStatus.ORDERED,
        OrderStatus.COLLECTED,
        OrderStatus.SCHEDULED,
        OrderStatus.RECEIVED,
        OrderStatus.REJECTED,
        OrderStatus.IN_PROGRESS,
    }
)


class OrderAction(models.TextChoices):
    CREATE = "create", _("created")
    COLLECT = "collect", _("specimen collected")
    SCHEDULE = "schedule", _("scheduled")
    RECEIVE = "receive", _("received")
    REJECT = "reject", _("specimen rejected")
    START = "start", _("started")
    REPORT = "report", _("reported")
    AMEND = "amend", _("report amended")
    ACKNOWLEDGE = "acknowledge", _("acknowledged")
    CANCEL = "cancel", _("cancelled")
    ESCALATE = "escalate", _("critical value escalated")


class RejectionReason(models.TextChoices):
    HEMOLYSIS = "hemolysis", _("Hemolysis")
    WRONG_TUBE = "wrong_tube", _("Wrong tube")
    INSUFFICIENT_VOLUME = "insufficient_volume", _("Insufficient volume")
    UNLABELED = "unlabeled", _("Unlabeled or mislabeled")
    CLOTTED = "clotted", _("Clotted")
    DELAYED = "delayed", _("Transport delayed")
    OTHER = "other", _("Other")


class ResultFlag(models.TextChoices):
    NORMAL = "", _("Normal")
    HIGH = "H", _("High")
    LOW = "L", _("Low")
    CRITICAL = "critical", _("Critical")


class SterilizationMethod(models.TextChoices):
    STEAM = "steam", _("Steam")
    ETHYLENE_OXIDE = "ethylene_oxide", _("Ethylene oxide")
    PLASMA = "plasma", _("Low-temperature plasma")


class PackageStatus(models.TextChoices):
    COLLECTED = "collected", _("Collected from member")
    RECEIVED = "received", _("Received at the center")
    CLEANED = "cleaned", _("Cleaned")
    INSPECTED_PACKED = "inspected_packed", _("Inspected and packed")
    STERILIZED = "sterilized", _("Sterilized")
    STORED = "stored", _("Stored")
    DISPATCHED = "dispatched", _("Dispatched")
    RECEIVED_BY_MEMBER = "received_by_member", _("Received by member")
    USED = "used", _("Used")
    EXPIRED = "expired", _("Expired")
    BLOCKED = "blocked", _("Blocked (recall)")


class IndicatorResult(models.TextChoices):
    PENDING = "pending", _("Pending")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class CycleStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    RELEASED = "released", _("Released")
    FAILED = "failed", _("Failed")
    RECALLED = "recalled", _("Recalled")


class PackageAction(models.TextChoices):
    REGISTER = "register", _("register")
    COLLECT = "collect", _("collect from member")
    RECEIVE = "receive", _("receive at the center")
    CLEAN = "clean", _("clean")
    PACK = "pack", _("inspect and pack")
    STERILIZE = "sterilize", _("load into a cycle")
    STORE = "store", _("release to storage")
    DISPATCH = "dispatch", _("dispatch to member")
    RECEIVE_BY_MEMBER = "receive_by_member", _("receive at member")
    USE = "use", _("use")
    EXPIRE = "expire", _("mark expired")


class SupplyRequestStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")
