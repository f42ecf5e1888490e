"""Who sees which indicator values: aggregates only, and only of the viewer's own world."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from alliance.choices import Role
from alliance.models import Alliance, Institution, Membership
from core.access import RestrictedQuerySet, Scope

if TYPE_CHECKING:
    from alliance.models import StaffProfile


# Whose figures a user reads: reporting's rule by role, stated once here (the dashboards, the
# institution page and the indicator values all dispatch on it).
ALL, NONE, ALLIANCE, DISTRICT, INSTITUTION = "all", "none", "alliance", "district", "institution"


def reach_of_profile(profile: StaffProfile) -> str:
    """The alliance office reads its alliances, the health bureau its district, other staff
    their own institution (the security auditor no figure at all)."""
    if getattr(profile, "sees_no_rows", False):
        return NONE
    return {Role.ALLIANCE_OFFICE: ALLIANCE, Role.BUREAU_VIEWER: DISTRICT}.get(
        profile.role, INSTITUTION
    )


def reach_of(user) -> str:
    """`reach_of_profile()` for a user: every figure for the superuser, none without a profile."""
    scope = Scope.of(user)
    if scope.everything:
        return ALL
    return NONE if scope.profile is None else reach_of_profile(scope.profile)


def indicator_scope(profile: StaffProfile) -> tuple[Q, Q]:
    """(institutions, alliances) whose figures the profile may read.

    The health bureau reads its district's institutions and every alliance with a member there;
    the alliance office its alliances and their members; other staff their own institution
    (with its stations) and the aggregates of its alliances.
    """
    own = profile.institution
    memberships = Membership.objects.active()
    reach = reach_of_profile(profile)
    if reach == DISTRICT:
        local = Institution.objects.filter(district_id=own.district_id)
        alliances = memberships.filter(institution__in=local).values("alliance_id")
        return Q(district_id=own.district_id), Q(pk__in=alliances)
    alliances = memberships.filter(institution_id=own.pk).values("alliance_id")
    if reach == ALLIANCE:
        members = Institution.objects.in_alliances_of(own.pk).values("pk")
        return Q(pk__in=members), Q(pk__in=alliances)
    return Q(pk__in=Institution.objects.within([own.pk]).values("pk")), Q(pk__in=alliances)


class IndicatorValueQuerySet(RestrictedQuerySet):
    def visible_to(self, profile: StaffProfile) -> IndicatorValueQuerySet:
        institutions, alliances = indicator_scope(profile)
        return self.filter(
            Q(institution__in=Institution.objects.filter(institutions))
            | Q(alliance__in=Alliance.objects.filter(alliances))
        )


class JobQuerySet(RestrictedQuerySet):
    def visible_to(self, profile: StaffProfile) -> JobQuerySet:
        """Jobs the user may follow: their own and those the offices of their alliances started."""
        alliance = Institution.objects.in_alliances_of(profile.institution_id)
        return self.filter(
            Q(requested_by_id=profile.user_id)
            | Q(requested_by__staff_profile__institution__in=alliance.values("pk"))
        )
