from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from alliance.choices import Role
from alliance.models import Institution
from core.access import RestrictedQuerySet

from .choices import Status

if TYPE_CHECKING:
    from alliance.models import StaffProfile


def referral_scope(profile: StaffProfile):
    """Institutions whose referrals (sent or received) the profile works with."""
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
        return self.exclude(status__in=[Status.DRAFT, Status.CANCELLED]).exclude(
            submitted_at__isnull=True
        )


# Why a referral shows its patient (PatientAccess.reason).
SENDER_GRANT, RECEIVER_GRANT = "referral_sender", "referral_receiver"


def referral_grants(referrals: QuerySet) -> list[QuerySet]:
    """(referral, institution, patient, reason) rows: a referral shows its patient to the
    institution that sent it, and, once submitted, to the one it is addressed to (a draft is
    the sender's alone). Read by alliance.visibility for the PatientAccess table."""
    sent = referrals.annotate(grant=Value(SENDER_GRANT)).values_list(
        "pk", "from_institution_id", "patient_id", "grant"
    )
    received = (
        referrals.exclude(status="draft")
        .annotate(grant=Value(RECEIVER_GRANT))
        .values_list("pk", "to_institution_id", "patient_id", "grant")
    )
    return [sent.order_by().union(received.order_by(), all=True)]


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
