from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Case, IntegerField, Q, Value, When

from alliance.choices import Role
from core.access import RestrictedQuerySet

if TYPE_CHECKING:
    from alliance.models import StaffProfile


def referral_scope(profile: StaffProfile):
    """Institutions whose referrals (sent or received) the profile works with."""
    from alliance.models import Institution

    if profile.role == Role.ALLIANCE_OFFICE:
        return Institution.objects.in_alliances_of(profile.institution_id)
    if profile.role in (Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF):
        return Institution.objects.subtree_of(profile.institution_id)
    return Institution.objects.none()  # shared centers and the bureau: no patient referrals


class ReferralQuerySet(RestrictedQuerySet):
    def visible_to(self, profile: StaffProfile) -> ReferralQuerySet:
        # A handful of ids as literals: the planner then combines the two institution indexes
        # instead of hashing a subquery against every referral.
        scope = list(referral_scope(profile).values_list("pk", flat=True))
        # A draft is the sender's until submitted: the receiver sees neither it nor its patient.
        received = Q(to_institution_id__in=scope) & ~Q(status="draft")
        return self.filter(Q(from_institution_id__in=scope) | received)

    def counted(self) -> ReferralQuerySet:
        """Referrals that count in indicators: submitted at some point, not cancelled."""
        from .choices import Status

        return self.exclude(status__in=[Status.DRAFT, Status.CANCELLED]).exclude(
            submitted_at__isnull=True
        )


def referred_patients(profile: StaffProfile) -> Q:
    """A patient is visible to the institutions a referral of theirs went between."""
    from .models import Referral

    scope = referral_scope(profile).values("pk")  # a subquery: no extra round trip
    received = Q(to_institution__in=scope) & ~Q(status="draft")
    referrals = Referral.objects.filter(Q(from_institution__in=scope) | received)
    return Q(pk__in=referrals.values("patient_id"))


def urgency_rank() -> Case:
    """0 emergency, 1 urgent, 2 routine: the worklist's first sort key (and an index's)."""
    return Case(
        When(urgency="emergency", then=Value(0)),
        When(urgency="urgent", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


class FollowUpTaskQuerySet(RestrictedQuerySet):
    def visible_to(self, profile: StaffProfile) -> FollowUpTaskQuerySet:
        """Tasks of the institutions the user works for, and of referrals they sent down."""
        scope = list(referral_scope(profile).values_list("pk", flat=True))
        return self.filter(Q(institution_id__in=scope) | Q(referral__from_institution_id__in=scope))
