"""Whose figures a user sees: the dashboard scope (alliances, districts, institutions in tree
order) and the single institutions and jobs the user may open."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import rules
from django.db.models import F
from django.http import Http404

from alliance.models import Alliance, District, Institution, Membership
from core.access import profile_of, row_for_user

from ..models import Job
from ..querysets import ALL, ALLIANCE, DISTRICT, NONE, reach_of


@dataclass
class Scope:
    """What a user's dashboards cover.

    kind: "all" (superuser), "alliance" (the office: its alliances), "district" (the bureau:
    its district's institutions and the alliances with a member there), "institution" (other
    staff: their own), "none".
    """

    kind: str
    alliances: list[Alliance] = field(default_factory=list)
    members: dict[int, set[int]] = field(default_factory=dict)  # alliance → institutions
    institutions: list[Institution] = field(default_factory=list)  # tree order
    district: District | None = None  # the bureau's, fixed
    institution_id: int | None = None  # other staff: their own

    @property
    def institution_ids(self) -> list[int]:
        return [i.pk for i in self.institutions]

    @property
    def alliance_ids(self) -> list[int]:
        return [a.pk for a in self.alliances]

    @property
    def districts(self) -> list[District]:
        """The districts of the scope's institutions, by code."""
        found = {i.district_id: i.district for i in self.institutions}
        return sorted(found.values(), key=lambda d: d.code)

    def narrowed(
        self,
        *,
        alliance_id: int | None = None,
        tier: str | None = None,
        district_id: int | None = None,
    ) -> Scope:
        """The scope under the dashboard's filters: one alliance, one tier, one district."""
        alliances, institutions = self.alliances, self.institutions
        if alliance_id is not None:
            alliances = [a for a in alliances if a.pk == alliance_id]
            members = self.members.get(alliance_id, set())
            institutions = [i for i in institutions if i.pk in members]
        if district_id is not None:
            institutions = [i for i in institutions if i.district_id == district_id]
            present = {i.pk for i in institutions}
            # Alliances with a member (a centre, with its stations) in the district.
            alliances = [a for a in alliances if self.members.get(a.pk, set()) & present]
        if tier:
            institutions = [i for i in institutions if i.tier == tier]
        return Scope(
            self.kind, alliances, self.members, institutions, self.district, self.institution_id
        )


def _institutions():
    return (
        Institution.objects.select_related("district")
        .annotate(grandparent_id=F("parent__parent_id"))
        .in_tree_order()
    )


def _members(memberships: Iterable[Membership], institutions: list[Institution]):
    """alliance → institutions: the member institutions and the stations under them."""
    direct: dict[int, set[int]] = defaultdict(set)
    alliances: dict[int, Alliance] = {}
    for membership in memberships:
        direct[membership.alliance_id].add(membership.institution_id)
        alliances[membership.alliance_id] = membership.alliance
    members = {
        alliance_id: {i.pk for i in institutions if {i.pk, i.parent_id, i.grandparent_id} & ids}
        for alliance_id, ids in direct.items()
    }
    return sorted(alliances.values(), key=lambda a: a.name), members


def dashboard_scope(user) -> Scope:
    """The user's scope in two queries (memberships with their alliances, then institutions),
    after the staff profile."""
    active = Membership.objects.active()
    reach = reach_of(user)
    if reach == ALL:
        memberships = list(active.select_related("alliance"))
        institutions = list(_institutions())
        alliances, members = _members(memberships, institutions)
        return Scope("all", alliances, members, institutions)
    if reach == NONE:
        return Scope("none")
    profile = profile_of(user)
    if reach == ALLIANCE:
        own = active.filter(institution_id=profile.institution_id).values("alliance_id")
        memberships = list(active.filter(alliance__in=own).select_related("alliance"))
        member_ids = {m.institution_id for m in memberships}
        institutions = list(_institutions().within(member_ids))
        alliances, members = _members(memberships, institutions)
        return Scope("alliance", alliances, members, institutions)
    if reach == DISTRICT:
        district_id = profile.institution.district_id
        touching = active.filter(institution__district_id=district_id).values("alliance_id")
        memberships = list(active.filter(alliance__in=touching).select_related("alliance"))
        institutions = list(_institutions().filter(district_id=district_id))
        alliances, members = _members(memberships, institutions)
        # The bureau's own institution is in its district: its district comes with the list.
        district = next(i.district for i in institutions if i.pk == profile.institution_id)
        return Scope("district", alliances, members, institutions, district=district)
    return Scope("institution", institution_id=profile.institution_id)


def may_view_institution(user, institution: Institution) -> bool:
    """The institution page: its own staff, the office of an alliance it belongs to, the
    bureau of its district, the superuser."""
    reach = reach_of(user)
    if reach in (ALL, NONE):
        return reach == ALL
    profile = profile_of(user)
    if reach == ALLIANCE:
        return (
            Institution.objects.in_alliances_of(profile.institution_id)
            .filter(pk=institution.pk)
            .exists()
        )
    if reach == DISTRICT:
        return profile.institution.district_id == institution.district_id
    return profile.institution_id == institution.pk


def institution_for_user(user, pk: int) -> Institution:
    """The institution if the user may see its figures (the rule in reporting/rules.py, which
    asks may_view_institution); a 404 otherwise, so its existence is not disclosed."""
    institution = Institution.objects.select_related("district", "parent").filter(pk=pk).first()
    if institution is None or not rules.has_perm(
        "reporting.view_institution_figures", user, institution
    ):
        raise Http404
    return institution


def jobs_for(user, kind: str):
    """Jobs of one kind the user may follow (reporting.querysets.JobQuerySet)."""
    return Job.objects.restrict(user).filter(kind=kind)


def job_for_user(user, pk, *, kind: str, for_update: bool = False):
    """One job of the kind the user may follow, else 404 (fetch and authorise together)."""
    return row_for_user(jobs_for(user, kind), user, pk, for_update=for_update)
