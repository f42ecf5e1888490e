"""Reads shared by the referral pages, the API and the tasks."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from alliance.choices import Role, Specialty
from alliance.models import Department, Institution, Patient, StaffProfile
from core.access import profile_of, row_for_user

from .choices import Direction, ExamType, Service, Status
from .models import FollowUpTask, Referral
from .querysets import urgency_rank

LIST_RELATED = (
    "patient",
    "from_institution",
    "to_institution",
    "to_department",
    "from_department",
)


def referrals_for(user) -> QuerySet[Referral]:
    return Referral.objects.restrict(user).select_related(*LIST_RELATED)


def referral_for_user(user, pk, *, for_update: bool = False) -> Referral:
    """Fetch and authorise together: a referral the user may not see is a 404; in the access
    log if the response shows it."""
    return row_for_user(referrals_for(user), user, pk, for_update=for_update)


def follow_up_for_user(user, pk, *, for_update: bool = False) -> FollowUpTask:
    """One follow-up task the user may see, else 404."""
    tasks = FollowUpTask.objects.select_related("patient", "referral", "institution")
    return row_for_user(tasks, user, pk, for_update=for_update)


def _received_by_own(user, queryset: QuerySet[Referral]) -> QuerySet[Referral]:
    """Keep the referrals the user's own institutions receive; the office keeps them all."""
    profile = profile_of(user)
    if profile is None or profile.role == Role.ALLIANCE_OFFICE:
        return queryset
    own = list(Institution.objects.subtree_of(profile.institution_id).values_list("pk", flat=True))
    return queryset.filter(to_institution_id__in=own)


def incoming_worklist(user) -> QuerySet[Referral]:
    """What the receiving side must act on: most urgent first, then the nearest deadline."""
    queryset = referrals_for(user).filter(
        status__in=[Status.SUBMITTED, Status.ACCEPTED, Status.SCHEDULED, Status.ARRIVED]
    )
    queryset = _received_by_own(user, queryset)
    return queryset.order_by(urgency_rank(), "due_at", "submitted_at")


def overdue(user) -> QuerySet[Referral]:
    """Unanswered past the deadline, the longest overdue first (the office's first list)."""
    return (
        referrals_for(user)
        .filter(status=Status.SUBMITTED, due_at__lt=timezone.now())
        .order_by("due_at")
    )


def to_refer_back(user, days: int = 30) -> QuerySet[Referral]:
    """Upward referrals the user's side completed in the last days and has not sent back down."""
    since = timezone.now() - datetime.timedelta(days=days)
    queryset = referrals_for(user).filter(
        status=Status.COMPLETED, direction=Direction.UP, closed_at__gte=since
    )
    queryset = _received_by_own(user, queryset)
    returned = Referral.objects.filter(returns_referral=OuterRef("pk"))
    return queryset.filter(~Exists(returned)).order_by("-closed_at")


# --- who hears about it ---------------------------------------------------------------------


def _staff(institution_id: int, department_id: int | None):
    User = get_user_model()
    profiles = StaffProfile.objects.filter(
        institution_id=institution_id,
        role__in=[Role.HOSPITAL_STAFF, Role.COMMUNITY_STAFF],
        user__is_active=True,
    )
    if department_id is not None:
        # The department's own staff, and the institution's referral desk (no department).
        profiles = profiles.filter(Q(department_id=department_id) | Q(department__isnull=True))
    return User.objects.filter(staff_profile__in=profiles)


def receiving_staff(referral: Referral):
    return _staff(referral.to_institution_id, referral.to_department_id)


def sending_staff(referral: Referral):
    User = get_user_model()
    return User.objects.filter(pk=referral.referring_user_id, is_active=True) | _staff(
        referral.from_institution_id, referral.from_department_id
    )


def office_staff(referral: Referral):
    User = get_user_model()
    offices = StaffProfile.objects.filter(role=Role.ALLIANCE_OFFICE, user__is_active=True)
    members = Institution.objects.in_alliances_of(referral.to_institution.tree_root.pk).values("pk")
    return User.objects.filter(staff_profile__in=offices.filter(institution__in=members))


def on_duty_phone(referral: Referral) -> str:
    """The receiving department's on-duty line; else the emergency department's; else none."""
    if referral.to_department and referral.to_department.on_duty_phone:
        return referral.to_department.on_duty_phone
    emergency = Department.objects.filter(
        institution_id=referral.to_institution_id, specialty=Specialty.EMERGENCY, is_active=True
    ).exclude(on_duty_phone="")
    first = emergency.first()
    return first.on_duty_phone if first else ""


# --- choosing where to refer ----------------------------------------------------------------

EXAM_SPECIALTY = {
    ExamType.ECG: Specialty.ELECTROPHYSIOLOGY,
    ExamType.ENDOSCOPY: None,
    ExamType.OTHER: None,
}


@dataclass(frozen=True)
class Target:
    institution: Institution
    distance_km: float | None
    beds: int
    departments: list[Department]


def haversine_km(lat1, lon1, lat2, lon2) -> float:
    lat1, lon1, lat2, lon2 = (math.radians(float(v)) for v in (lat1, lon1, lat2, lon2))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def suggest_targets(
    user, patient: Patient, service: str, specialty: str = "", exam_type: str = ""
) -> list[Target]:
    """Institutions of the user's alliances that can take the request, nearest to the patient's
    home institution first (a patient-centred choice: travel costs the patient)."""
    profile = profile_of(user)
    if profile is None:
        return []
    departments = Department.objects.filter(is_active=True, accepts_referrals=True)
    if service == Service.EXAM:
        wanted = EXAM_SPECIALTY.get(exam_type, Specialty.IMAGING)
        departments = Department.objects.filter(is_active=True)
        if wanted:
            departments = departments.filter(specialty=wanted)
    elif specialty:
        departments = departments.filter(specialty=specialty)
    candidates = (
        Institution.objects.in_alliances_of(profile.institution.tree_root.pk)
        .active()
        .exclude(pk=profile.institution_id)
        .filter(pk__in=departments.values("institution_id"))
    )
    if service == Service.ADMISSION:
        candidates = candidates.filter(approved_beds__gt=0)
    by_institution: dict[int, list[Department]] = {}
    for department in departments.filter(institution__in=candidates).order_by("name"):
        by_institution.setdefault(department.institution_id, []).append(department)
    home = patient.home_institution
    targets = []
    for institution in candidates:
        distance = None
        if None not in (home.latitude, home.longitude, institution.latitude, institution.longitude):
            distance = round(
                haversine_km(
                    home.latitude, home.longitude, institution.latitude, institution.longitude
                ),
                1,
            )
        targets.append(
            Target(
                institution,
                distance,
                institution.approved_beds,
                by_institution.get(institution.pk, []),
            )
        )
    targets.sort(key=lambda t: (t.distance_km is None, t.distance_km or 0, t.institution.name))
    return targets


# --- the home page (alliance.panels.HomePanel, registered in apps.py) -------------------------


def _local_day(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, start + datetime.timedelta(days=1)


def _sent_by_own(user, queryset: QuerySet[Referral]) -> QuerySet[Referral]:
    """Keep the referrals the user's own institutions sent; the office keeps them all."""
    profile = profile_of(user)
    if profile is None or profile.role == Role.ALLIANCE_OFFICE:
        return queryset
    own = list(Institution.objects.subtree_of(profile.institution_id).values_list("pk", flat=True))
    return queryset.filter(from_institution_id__in=own)


def info_requested(user) -> QuerySet[Referral]:
    """Referrals the user's side sent and the receiver asked more about: the sender must answer."""
    return _sent_by_own(user, referrals_for(user).filter(status=Status.INFO_REQUESTED))


def downward_to_accept(user) -> QuerySet[Referral]:
    """Downward referrals addressed to the user's side, waiting for an answer."""
    queryset = referrals_for(user).filter(status=Status.SUBMITTED, direction=Direction.DOWN)
    return _received_by_own(user, queryset)


def latest_answers(user, days: int = 7) -> QuerySet[Referral]:
    """Referrals the user's side sent that the receiver answered in the last days, newest first."""
    since = timezone.now() - datetime.timedelta(days=days)
    queryset = referrals_for(user).filter(responded_at__gte=since)
    return _sent_by_own(user, queryset).order_by("-responded_at", "-pk")


def recently_discharged_to(user, days: int = 14) -> QuerySet[Referral]:
    """Downward referrals to the user's side submitted in the last days: patients sent home."""
    since = timezone.now() - datetime.timedelta(days=days)
    queryset = referrals_for(user).filter(direction=Direction.DOWN, submitted_at__gte=since)
    return _received_by_own(user, queryset.exclude(status=Status.DRAFT))


def follow_up_counts(user) -> dict[str, int]:
    """Open follow-up tasks of the worklist (`/referrals/follow-ups/`): due today and overdue,
    one query."""
    today = timezone.localdate()
    return (
        FollowUpTask.objects.restrict(user)
        .filter(done_at__isnull=True)
        .aggregate(
            due_today=Count("pk", filter=Q(due_on=today)),
            overdue=Count("pk", filter=Q(due_on__lt=today)),
        )
    )


def incoming_counts(user, soon_hours: int = 4) -> dict[str, int]:
    """The incoming worklist's unanswered referrals past and near their deadline and today's
    scheduled arrivals, one query."""
    now = timezone.now()
    start, end = _local_day(timezone.localdate())
    return (
        incoming_worklist(user)
        .order_by()
        .aggregate(
            overdue=Count("pk", filter=Q(status=Status.SUBMITTED, due_at__lt=now)),
            due_soon=Count(
                "pk",
                filter=Q(
                    status=Status.SUBMITTED,
                    due_at__gte=now,
                    due_at__lt=now + datetime.timedelta(hours=soon_hours),
                ),
            ),
            arrivals_today=Count(
                "pk",
                filter=Q(
                    status=Status.SCHEDULED, appointment_at__gte=start, appointment_at__lt=end
                ),
            ),
        )
    )
