"""Reads shared by the pages, the API and (later) the dashboards."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.utils import translation

from core.access import profile_of, row_for_user

from .choices import KIND_TIER, Role, Specialty, Tier, kinds_of_tier
from .errors import IdentityNumberRegistered
from .models import (
    Alliance,
    Department,
    DepartmentHistory,
    Institution,
    Membership,
    Patient,
    SpecialtyNetwork,
)


def per_thousand(numerator: int | None, population: int | None) -> Decimal | None:
    """numerator ÷ population × 1,000, two decimals; absent (None) when there is no population."""
    if not population or numerator is None:
        return None
    value = Decimal(numerator) * 1000 / Decimal(population)
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Capacity:
    """Beds, staff and population of a set of institutions; per-1,000 figures are ratios of sums."""

    institutions: int
    beds: int
    health_staff: int
    population: int

    @property
    def beds_per_1000(self) -> Decimal | None:
        return per_thousand(self.beds, self.population)

    @property
    def health_staff_per_1000(self) -> Decimal | None:
        return per_thousand(self.health_staff, self.population)


def capacity_of(institutions: QuerySet[Institution]) -> Capacity:
    """Population counts only institutions that declare a catchment (stations are inside their
    centre's); beds and staff count every institution."""
    totals = institutions.aggregate(
        n=Count("pk"),
        beds=Sum("approved_beds"),
        staff=Sum("health_technical_staff"),
        population=Sum("population_served"),
    )
    return Capacity(
        institutions=totals["n"],
        beds=totals["beds"] or 0,
        health_staff=totals["staff"] or 0,
        population=totals["population"] or 0,
    )


def specialties_matching(text: str) -> list[str]:
    """Specialty codes whose Chinese or English label contains the text."""
    text = text.casefold()
    found = []
    for value, label in Specialty.choices:
        for language in ("zh-hans", "en"):
            with translation.override(language):
                if text in str(label).casefold():
                    found.append(value)
                    break
    return found


def search_institutions(queryset: QuerySet[Institution], text: str) -> QuerySet[Institution]:
    """Match name, short name, code, department name or specialty (in either language)."""
    text = text.strip()
    if not text:
        return queryset
    department_match = Q(name__icontains=text) | Q(specialty__in=specialties_matching(text))
    matching_departments = Department.objects.filter(department_match, is_active=True)
    return queryset.filter(
        Q(name__icontains=text)
        | Q(short_name__icontains=text)
        | Q(code__iexact=text)
        | Q(pk__in=matching_departments.values("institution_id"))
    )


def filter_by_tier(queryset: QuerySet[Institution], tier: str) -> QuerySet[Institution]:
    return queryset.filter(kind__in=kinds_of_tier(tier)) if tier in Tier.values else queryset


def directory_queryset(user) -> QuerySet[Institution]:
    """Institutions as the directory lists them: departments (contact cards) prefetched."""
    departments = Department.objects.filter(is_active=True).order_by("-accepts_referrals", "name")
    return (
        Institution.objects.restrict(user)
        .select_related("district", "parent")
        .prefetch_related(
            Prefetch("departments", queryset=departments, to_attr="active_departments")
        )
    )


def patients_for(user) -> QuerySet[Patient]:
    """The residents the user may see (the home page's counts, the patient list)."""
    return Patient.objects.restrict(user)


def alliances_for(user) -> QuerySet[Alliance]:
    """The alliances the user sees: every one for the superuser, none without a profile."""
    return Alliance.objects.restrict(user)


def institution_for_user(user, pk: int, *, for_update: bool = False) -> Institution:
    """Fetch and authorise together: an institution the user may not see is a 404."""
    institutions = Institution.objects.select_related("district", "parent")
    return row_for_user(institutions, user, pk, for_update=for_update)


def patient_for_user(
    user, pk: int | str, *, for_update: bool = False, audited: bool = True
) -> Patient:
    """Fetch and authorise together (404), and name the record in the access log if the
    response shows it (core.audit.shown; `audited=False` for an answer that does not)."""
    patients = Patient.objects.select_related("home_institution", "signing_institution")
    return row_for_user(patients, user, pk, for_update=for_update, audited=audited)


def patient_choices(
    user, *, find: str = "", picked: str = "", posted: bool = False, limit: int = 50
) -> QuerySet[Patient]:
    """The patients a form's picker offers (a new referral, a new order), by name: the matches
    of a search (`find`) or the latest registered, and the one `picked` from a search. For a
    posted form, only the posted one: what validating it needs, and all a re-shown form lists."""
    visible = Patient.objects.restrict(user)
    picked_id = int(picked) if str(picked).isdigit() and len(str(picked)) <= 9 else None
    if posted:
        return visible.filter(pk=picked_id).select_related("home_institution")
    found = visible.search(find).order_by("name", "pk") if find else visible.order_by("-created_at")
    ids = list(found.values_list("pk", flat=True)[:limit])
    if picked_id is not None:
        ids.append(picked_id)
    return visible.filter(pk__in=ids).select_related("home_institution")


def patient_by_identity_number(user, id_number: str) -> Patient:
    """The look-up by full identity number: the resident if the user may see the record. A
    number registered at an institution the user may not see is the 409 registration answers
    (IdentityNumberRegistered: the same fact, said the same way, never where); a number nobody
    has is a 404. Both endpoints are rate-limited per user (core.api.throttling)."""
    found = Patient.objects.with_id_number(id_number)
    patient = found.restrict(user).select_related("home_institution").first()
    if patient is not None:
        return patient
    if found.exists():
        raise IdentityNumberRegistered()
    raise Http404


def registrable_institutions(user) -> QuerySet[Institution]:
    """Institutions whose residents the user registers and changes (a resident's home): the
    patient scope of their role, everything for a superuser."""
    if user.is_superuser and user.is_active:
        return Institution.objects.all()
    profile = profile_of(user)
    return profile.patient_scope() if profile else Institution.objects.none()


def signing_institutions(user) -> QuerySet[Institution]:
    """Where a resident the user registers may be signed by a family doctor: the primary-care
    institutions among those they register for. The patient form offers these, and the service
    and the API refuse any other."""
    primary = Institution.objects.filter(kind__in=kinds_of_tier(Tier.PRIMARY))
    if user.is_superuser and user.is_active:
        return primary
    return primary.filter(pk__in=registrable_institutions(user).values("pk"))


def contact_card_scope(user) -> QuerySet[Institution]:
    """Institutions whose departments and contact cards the user keeps: the alliance office any
    member's, an institution's administrator its own and its stations', a superuser all."""
    if user.is_superuser and user.is_active:
        return Institution.objects.all()
    profile = profile_of(user)
    if profile is None:
        return Institution.objects.none()
    if profile.role == Role.ALLIANCE_OFFICE:
        return Institution.objects.in_alliances_of(profile.institution_id)
    if profile.is_institution_admin and profile.role not in (
        Role.BUREAU_VIEWER,
        Role.SECURITY_AUDITOR,
    ):
        return Institution.objects.subtree_of(profile.institution_id)
    return Institution.objects.none()


def may_edit_contact_cards(user, institution: Institution) -> bool:
    return contact_card_scope(user).filter(pk=institution.pk).exists()


def contact_card_history(institution: Institution, limit: int = 30) -> list:
    """The latest changes of the institution's contact cards, newest first, with who made them
    (PostgreSQL keeps the history; SQLite has none)."""
    if connection.vendor != "postgresql":
        return []
    rows = list(
        DepartmentHistory.objects.filter(institution_id=institution.pk)
        .select_related("pgh_context")
        .order_by("-pgh_created_at", "-pgh_id")[:limit]
    )
    user_ids = {r.pgh_context.metadata.get("user") for r in rows if r.pgh_context_id}
    users = get_user_model().objects.in_bulk([u for u in user_ids if u])
    for row in rows:
        user_id = row.pgh_context.metadata.get("user") if row.pgh_context_id else None
        row.changed_by = users.get(user_id)
    return rows


def institution_detail(institution: Institution) -> dict:
    departments = institution.departments.filter(is_active=True).order_by(
        "-accepts_referrals", "name"
    )
    memberships = Membership.objects.active().filter(institution=institution)
    networks = SpecialtyNetwork.objects.filter(departments__institution=institution).distinct()
    return {
        "departments": departments,
        "children": institution.children.filter(is_active=True).select_related("district"),
        "memberships": memberships.select_related("alliance", "alliance__lead_institution"),
        "networks": networks.select_related("alliance"),
        "capacity": capacity_of(Institution.objects.filter(pk=institution.pk)),
    }


def alliances_of(institution_id: int) -> QuerySet[Alliance]:
    return Alliance.objects.filter(
        pk__in=Membership.objects.active().filter(institution_id=institution_id).values("alliance")
    )


def alliance_summary(alliance: Alliance) -> dict:
    """Each direct member with its stations folded in, and the alliance total (one query)."""
    members = {
        m.institution_id: m.institution
        for m in Membership.objects.active()
        .filter(alliance=alliance)
        .select_related("institution")
        .order_by("institution__kind", "institution__name")
    }
    sums: dict[int, list[int]] = {pk: [0, 0, 0, 0] for pk in members}
    institutions = Institution.objects.in_alliance(alliance.pk).values_list(
        "pk",
        "parent_id",
        "parent__parent_id",
        "approved_beds",
        "health_technical_staff",
        "population_served",
    )
    for pk, parent_id, grandparent_id, beds, staff, population in institutions:
        root = next(i for i in (pk, parent_id, grandparent_id) if i in members)
        row = sums[root]
        row[0] += 1
        row[1] += beds
        row[2] += staff
        row[3] += population or 0
    rows = [(members[pk], Capacity(*sums[pk])) for pk in members]
    columns = zip(*sums.values(), strict=True) if sums else ([0], [0], [0], [0])
    total = Capacity(*(sum(column) for column in columns))
    return {"alliance": alliance, "total": total, "rows": rows}


def district_summary(district_id: int) -> dict:
    """Care institutions of the district (a health commission itself has no care tier)."""
    institutions = Institution.objects.active().filter(
        district_id=district_id, kind__in=list(KIND_TIER)
    )
    by_tier = {
        tier.label: institutions.filter(kind__in=kinds_of_tier(tier)).count() for tier in Tier
    }
    return {"total": capacity_of(institutions), "by_tier": by_tier}
