from django.db import models
from django.utils.translation import gettext_lazy as _

from core.choices import AccessKind


class Tier(models.TextChoices):
    TERTIARY = "tertiary", _("Tertiary")
    SECONDARY = "secondary", _("Secondary")
    PRIMARY = "primary", _("Primary care")


class InstitutionKind(models.TextChoices):
    TERTIARY_HOSPITAL = "tertiary_hospital", _("Tertiary hospital")
    BRANCH_CAMPUS = "branch_campus", _("Branch campus of a tertiary hospital")
    SECONDARY_HOSPITAL = "secondary_hospital", _("Secondary hospital")
    SPECIALTY_HOSPITAL = "specialty_hospital", _("Specialty hospital")
    COMMUNITY_CENTER = "community_center", _("Community health service center")
    SUB_CENTER = "sub_center", _("Community health sub-center")
    TOWNSHIP_CENTER = "township_center", _("Township health center")
    COMMUNITY_STATION = "community_station", _("Community health station")
    VILLAGE_CLINIC = "village_clinic", _("Village clinic")
    OTHER = "other", _("Other")


# The care tier follows from the kind; "other" (e.g. a health commission) has no care tier.
KIND_TIER: dict[str, str] = {
    InstitutionKind.TERTIARY_HOSPITAL: Tier.TERTIARY,
    InstitutionKind.BRANCH_CAMPUS: Tier.TERTIARY,
    InstitutionKind.SECONDARY_HOSPITAL: Tier.SECONDARY,
    InstitutionKind.SPECIALTY_HOSPITAL: Tier.SECONDARY,
    InstitutionKind.COMMUNITY_CENTER: Tier.PRIMARY,
    InstitutionKind.SUB_CENTER: Tier.PRIMARY,
    InstitutionKind.TOWNSHIP_CENTER: Tier.PRIMARY,
    InstitutionKind.COMMUNITY_STATION: Tier.PRIMARY,
    InstitutionKind.VILLAGE_CLINIC: Tier.PRIMARY,
}

# Stations, clinics and sub-centers always hang under a center.
KINDS_NEEDING_PARENT = {
    InstitutionKind.COMMUNITY_STATION,
    InstitutionKind.VILLAGE_CLINIC,
    InstitutionKind.SUB_CENTER,
}
CENTER_KINDS = {InstitutionKind.COMMUNITY_CENTER, InstitutionKind.TOWNSHIP_CENTER}
# center → sub-center → station: a station or village clinic may also hang under a sub-center
# (社区卫生服务中心（含分中心）), a sub-center only under a center.
PARENT_KINDS: dict[str, set[str]] = {
    InstitutionKind.SUB_CENTER: CENTER_KINDS,
    InstitutionKind.COMMUNITY_STATION: CENTER_KINDS | {InstitutionKind.SUB_CENTER},
    InstitutionKind.VILLAGE_CLINIC: CENTER_KINDS | {InstitutionKind.SUB_CENTER},
}


def kinds_of_tier(tier: str) -> list[str]:
    return [kind for kind, kind_tier in KIND_TIER.items() if kind_tier == tier]


class Specialty(models.TextChoices):
    GENERAL_PRACTICE = "general_practice", _("General practice")
    INTERNAL_MEDICINE = "internal_medicine", _("Internal medicine")
    CARDIOLOGY = "cardiology", _("Cardiology")
    EMERGENCY = "emergency", _("Emergency medicine")
    ONCOLOGY = "oncology", _("Oncology")
    NEONATOLOGY = "neonatology", _("Neonatology")
    PEDIATRICS = "pediatrics", _("Pediatrics")
    ENDOCRINOLOGY = "endocrinology", _("Endocrinology")
    SURGERY = "surgery", _("Surgery")
    ORTHOPEDICS = "orthopedics", _("Orthopedics")
    OBSTETRICS = "obstetrics", _("Obstetrics and gynecology")
    NEUROLOGY = "neurology", _("Neurology")
    RESPIRATORY = "respiratory", _("Respiratory medicine")
    REHABILITATION = "rehabilitation", _("Rehabilitation")
    TCM = "tcm", _("Traditional Chinese medicine")
    IMAGING = "imaging", _("Medical imaging")
    LABORATORY = "laboratory", _("Clinical laboratory")
    ELECTROPHYSIOLOGY = "electrophysiology", _("ECG diagnostics")
    STERILIZATION = "sterilization", _("Sterilization supply")
    ADMINISTRATION = "administration", _("Administration")
    OTHER = "other", _("Other")


class AllianceMode(models.TextChoices):
    URBAN_GROUP = "urban_group", _("Urban medical group")
    COUNTY_COMMUNITY = "county_community", _("County medical community")
    SPECIALTY_ALLIANCE = "specialty_alliance", _("Cross-regional specialty alliance")
    TELEMEDICINE = "telemedicine", _("Telemedicine network")


class Closeness(models.TextChoices):
    LOOSE = "loose", _("Loose")
    TIGHT = "tight", _("Tight")


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Role(models.TextChoices):
    COMMUNITY_STAFF = "community_staff", _("Community staff")
    HOSPITAL_STAFF = "hospital_staff", _("Hospital staff")
    CENTER_STAFF = "center_staff", _("Shared center staff")
    ALLIANCE_OFFICE = "alliance_office", _("Alliance office")
    BUREAU_VIEWER = "bureau_viewer", _("Health bureau")
    # Separation of duties: reads the access log and nothing else (no patient, no referral).
    SECURITY_AUDITOR = "security_auditor", _("Security auditor")


# The access-log events that name a patient (AccessLog.objects.patient_accesses()).
PATIENT_ACCESS_KINDS = (
    AccessKind.PATIENT_VIEW,
    AccessKind.PATIENT_CREATE,
    AccessKind.PATIENT_UPDATE,
    AccessKind.PATIENT_REVEAL_ID,
    AccessKind.RECORD_VIEW,
    AccessKind.LIST_VIEW,
    AccessKind.FILE_DOWNLOAD,
    AccessKind.DOCUMENT,
)


class IdType(models.TextChoices):
    """The identity document a resident is registered with (证件类型)."""

    RESIDENT = "resident", _("Resident identity card")
    HMT_RESIDENCE = "hmt_residence", _("Residence permit for Hong Kong, Macao and Taiwan residents")
    FOREIGN_PERMANENT = "foreign_permanent", _("Foreigner's permanent residence card")
    PASSPORT = "passport", _("Passport")
    NONE = "none", _("No document yet (e.g. a newborn)")


# Types whose 18-digit number carries the birth date and sex in the GB 11643 layout.
DERIVED_TYPES = frozenset({IdType.RESIDENT, IdType.HMT_RESIDENCE, IdType.FOREIGN_PERMANENT})


class NotificationKind(models.TextChoices):
    """What an inbox message is about, told by the prefix of its deduplication key."""

    REFERRAL = "referral", _("Referrals")
    ORDER = "order", _("Shared-center orders")
    RECALL = "recall", _("Sterilization recalls")
    OTHER = "other", _("Other messages")


# The key prefix of each kind: the tasks name their keys "referral-event-<id>", "order-event-<id>"
# and "cycle-recall-<id>"; "other" is every other key.
NOTIFICATION_KEY_PREFIXES: dict[str, str] = {
    NotificationKind.REFERRAL: "referral-",
    NotificationKind.ORDER: "order-",
    NotificationKind.RECALL: "cycle-recall-",
}
