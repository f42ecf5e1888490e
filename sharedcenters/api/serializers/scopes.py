"""What a body may name (alliance.api.references): the rows the user may see, and the scope;
and what the serializers share besides (an actor's name, the message of a foreign department)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from alliance.api.references import Refs
from alliance.models import Department
from referrals.models import Referral

from ... import selectors
from ...choices import CenterKind
from ...models import InstrumentSet, ServiceItem


def own_departments(refs: Refs):
    """Departments of the user's own institution (what the services check too)."""
    profile = refs.profile
    return None if profile is None else Department.objects.filter(institution=profile.institution)


def items_of_center(refs: Refs):
    center = refs.get("center")
    return None if center is None else ServiceItem.objects.filter(center=center, is_active=True)


def referrals_of_patient(refs: Refs):
    patient = refs.get("patient")
    return None if patient is None else Referral.objects.filter(patient=patient)


def slots_of_order(refs: Refs):
    """The slots of the order's own imaging center. An order of a center without slots (a lab,
    ECG) is never scheduled at all: the service says so (409), whatever slot the body names."""
    order = refs.instance
    if order is None or order.center.kind != CenterKind.IMAGING:
        return None
    return selectors.bookable_slots(refs.user, order)


def colleagues(refs: Refs):
    if refs.instance is None:
        return None
    return selectors.center_colleagues(refs.instance.center)


def package_owners(refs: Refs):
    """Members of the alliances of the sterilization centers the user works at: what the
    page's register form offers (the service checks the chosen set's own alliance)."""
    centers = selectors.sterilization_centers(refs.user)
    # Who works at none registers nothing: the service refuses the action itself (403).
    return selectors.alliance_members_of(centers) if centers.exists() else None


def request_centers(refs: Refs):
    return selectors.request_centers(refs.user)


def sets_of_center(refs: Refs):
    center = refs.attrs.get("center")
    return None if center is None else InstrumentSet.objects.filter(center=center)


DEPARTMENT_ELSEWHERE = _("The department belongs to another institution.")


def actor_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()
