"""The alliance office's home items: members without facts this month, jobs that failed."""

from __future__ import annotations

import datetime

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from alliance.models import Membership
from core.access import profile_of

from ..choices import JobKind, JobStatus
from ..models import InpatientStay, Job, OutpatientVisit


def members_missing_data(user, today: datetime.date | None = None) -> int:
    """Direct members of the office's alliances (the ones expected to send facts) with neither
    an outpatient visit nor an admission recorded this month so far, one query."""
    today = today or timezone.localdate()
    profile = profile_of(user)
    members = Membership.objects.active(today)
    if profile is not None:
        mine = Membership.objects.active(today).filter(institution_id=profile.institution_id)
        members = members.filter(alliance_id__in=mine.values("alliance_id"))
    return members_without_data(members, today)


def members_without_data(members, today: datetime.date) -> int:
    """Of the memberships given, the member institutions with neither an outpatient visit nor
    an admission recorded this month so far, one query (the office's home, the cockpit)."""
    start = today.replace(day=1)
    visits = OutpatientVisit.objects.filter(
        institution_id=OuterRef("institution_id"), visit_date__gte=start, visit_date__lte=today
    )
    stays = InpatientStay.objects.filter(
        institution_id=OuterRef("institution_id"),
        admit_date__gte=start,
        admit_date__lte=today,
    )
    missing = members.filter(~Exists(visits), ~Exists(stays))
    return missing.values("institution_id").distinct().count()


def failed_jobs(user) -> dict[str, int]:
    """Imports and recomputations the user follows that failed, one query."""
    return Job.objects.restrict(user).aggregate(
        imports=Count("pk", filter=Q(kind=JobKind.IMPORT, status=JobStatus.FAILED)),
        recomputes=Count("pk", filter=Q(kind=JobKind.RECOMPUTE, status=JobStatus.FAILED)),
    )
