"""Row-level visibility of alliance's models: each answers `restrict(user)` through its
`visible_to(profile)`; the mechanism (`RestrictedQuerySet`, `profile_of`) is core.access's."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db.models import Case, F, OrderBy, Q, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import In
from django.utils import timezone

from core.access import RestrictedQuerySet

from .choices import Role, Tier, kinds_of_tier
from .fields import id_number_hash
from .visibility import visible_patients

if TYPE_CHECKING:
    from .models import StaffProfile  # late: .models imports this module


def tree_order() -> list[OrderBy]:
    """The institution tree in reading order: hospitals before centres, each root followed by
    its sub-centres and stations (the tree is at most three levels deep)."""
    root_name = Coalesce("parent__parent__name", "parent__name", "name")
    root_kind = Coalesce("parent__parent__kind", "parent__kind", "kind")
    tier_rank = Case(
        *(
            When(In(root_kind, kinds_of_tier(tier)), then=Value(rank))
            for rank, tier in enumerate(Tier)
        ),
        default=Value(len(Tier)),
    )
    branch = Case(
        When(parent__isnull=True, then=Value("")),
        When(parent__parent__isnull=True, then=F("name")),
        default=F("parent__name"),
    )
    return [
        tier_rank.asc(),
        root_name.asc(),
        branch.asc(),
        F("parent__parent").asc(nulls_first=True),
        F("parent").asc(nulls_first=True),
        F("name").asc(),
    ]


class InstitutionQuerySet(RestrictedQuerySet):
    def active(self) -> InstitutionQuerySet:
        return self.filter(is_active=True)

    def in_tree_order(self) -> InstitutionQuerySet:
        return self.order_by(*tree_order())

    def within(self, institution_ids) -> InstitutionQuerySet:
        """The given institutions and everything under them (centre → sub-centre → station)."""
        return self.filter(
            Q(pk__in=institution_ids)
            | Q(parent_id__in=institution_ids)
            | Q(parent__parent_id__in=institution_ids)
        )

    def subtree_of(self, institution_id: int) -> InstitutionQuerySet:
        return self.within([institution_id])

    def in_alliance(self, alliance_id: int, on: datetime.date | None = None) -> InstitutionQuerySet:
        """Current members of the alliance; a member centre brings its stations along."""
        from .models import Membership  # late: .models imports this module

        members = Membership.objects.active(on).filter(alliance_id=alliance_id)
        return self.within(members.values("institution_id"))

    def in_alliances_of(
        self, institution_id: int, on: datetime.date | None = None
    ) -> InstitutionQuerySet:
        """Every institution of every alliance the institution currently belongs to."""
        from .models import Membership  # late: .models imports this module

        alliance_ids = Membership.objects.active(on).filter(institution_id=institution_id)
        members = Membership.objects.active(on).filter(
            alliance_id__in=alliance_ids.values("alliance_id")
        )
        return self.within(members.values("institution_id"))


class MembershipQuerySet(RestrictedQuerySet):
    def active(self, on: datetime.date | None = None) -> MembershipQuerySet:
        on = on or timezone.localdate()
        return self.filter(Q(joined_on__lte=on), Q(left_on__isnull=True) | Q(left_on__gt=on))


class PatientQuerySet(RestrictedQuerySet):
    def visible_to(self, profile: StaffProfile) -> PatientQuerySet:
        """The residents of the user's institutions, and those a relation shows them (a
        referral between their institution and another: alliance.visibility)."""
        condition = Q(home_institution__in=profile.patient_scope().values("pk"))
        return self.filter(condition | visible_patients(profile))

    def with_id_number(self, value: str) -> PatientQuerySet:
        """Residents with exactly this identity number (any spacing, either case of X).

        The number is encrypted with a random nonce, so only the keyed hash can be compared:
        an exact match on the whole number is the only search there is, never a partial one.
        """
        return self.filter(id_number_hash=id_number_hash(value))

    def search(self, text: str) -> PatientQuerySet:
        """What the patient search boxes find: the whole identity number (through its keyed
        hash: a partial number cannot be searched), the exact phone, or part of the name."""
        text = text.strip()
        return self.filter(
            Q(id_number_hash=id_number_hash(text)) | Q(phone=text) | Q(name__icontains=text)
        )

    # The writes that bypass Patient.save() keep the hash in step with the number too.
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.id_number_hash = number_hash_or_none(obj.id_number)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs, fields = list(objs), list(fields)
        if "id_number" in fields:
            for obj in objs:
                obj.id_number_hash = number_hash_or_none(obj.id_number)
            fields.append("id_number_hash")
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs):
        if "id_number" in kwargs and "id_number_hash" not in kwargs:  # bulk_update sets both
            if not isinstance(kwargs["id_number"], str):
                raise TypeError("Patient.id_number is encrypted: update it with a plain string.")
            kwargs["id_number_hash"] = number_hash_or_none(kwargs["id_number"])
        return super().update(**kwargs)


def number_hash_or_none(value: str) -> str | None:
    """The stored hash: none for a resident without a document, so that any number of them
    can be registered while every real number stays unique."""
    return id_number_hash(value) if value else None


def patient_scope_for(profile: StaffProfile):
    """Institutions whose registered residents the profile may see (and register)."""
    from .models import Institution  # late: .models imports this module

    if profile.role in (Role.BUREAU_VIEWER, Role.SECURITY_AUDITOR):
        return Institution.objects.none()  # the health bureau sees aggregates only
    if profile.role == Role.ALLIANCE_OFFICE:
        return Institution.objects.in_alliances_of(profile.institution_id)
    return Institution.objects.subtree_of(profile.institution_id)
