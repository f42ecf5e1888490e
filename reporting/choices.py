from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class VisitType(models.TextChoices):
    OUTPATIENT = "outpatient", _("Outpatient")
    EMERGENCY = "emergency", _("Emergency")


class FactKind(models.TextChoices):
    """The kinds of file hospital systems export to the platform."""

    VISITS = "visits", _("Outpatient and emergency visits")
    STAYS = "stays", _("Inpatient stays")
    BEDS = "beds", _("Open beds")
    REFERRALS = "referrals", _("Referral counts (months before the platform)")


class ReferralDirection(models.TextChoices):
    """The directions a referral-count file holds (referrals.choices.Direction's two)."""

    UP = "up", _("Upward")
    DOWN = "down", _("Downward")


class JobKind(models.TextChoices):
    IMPORT = "import", _("Import")
    RECOMPUTE = "recompute", _("Recompute indicators")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", pgettext_lazy("job status", "Failed")


class PeriodKind(models.TextChoices):
    YEAR = "year", _("Year")
    QUARTER = "quarter", _("Quarter")
    MONTH = "month", _("Month")


class ScopeKind(models.TextChoices):
    INSTITUTION = "institution", _("Institution")
    ALLIANCE = "alliance", _("Alliance")
