"""The members' requests for sterile packages (申领): made by a member's staff, withdrawn by them
while nothing has been sent; a dispatch serves them (`.sterilization`)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.choices import Role
from alliance.models import Department, Institution
from core.access import profile_of
from core.errors import ActionNotAllowed

from ..choices import SUPPLY_REQUEST_PREFIX, CenterKind
from ..models import (
    MAX_REQUEST_QUANTITY,
    InstrumentSet,
    SharedCenter,
    SupplyRequest,
    SupplyRequestLine,
)
from ..workflow import CANCEL, SUPPLY_REQUESTS
from .orders import next_number


def _requesting_profile(actor):
    profile = profile_of(actor)
    if profile is None or profile.role not in (Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF):
        raise ActionNotAllowed(_("Only staff of a member institution request sterile packages."))
    return profile


def _check_lines(
    center: SharedCenter, lines: Iterable[tuple[InstrumentSet, int]]
) -> tuple[list[tuple[InstrumentSet, int]], str]:
    lines = list(lines)
    if not lines:
        return lines, _("Request at least one instrument set.")
    sets = [instrument_set for instrument_set, _quantity in lines]
    if any(instrument_set.center_id != center.pk for instrument_set in sets):
        return lines, _("Every set must be one of the chosen center's.")
    if len({instrument_set.pk for instrument_set in sets}) != len(sets):
        return lines, _("A set is listed twice; give its total on one line.")
    if not all(_whole_number_in_range(quantity) for _set, quantity in lines):
        return lines, _("Each quantity is a whole number from 1 to %(max)d.") % {
            "max": MAX_REQUEST_QUANTITY
        }
    return lines, ""


def _whole_number_in_range(quantity) -> bool:
    is_int = isinstance(quantity, int) and not isinstance(quantity, bool)
    return is_int and 1 <= quantity <= MAX_REQUEST_QUANTITY


@transaction.atomic
def supply_request_create(
    *,
    actor,
    center: SharedCenter,
    lines: Iterable[tuple[InstrumentSet, int]],
    department: Department | None = None,
    needed_by: datetime.date | None = None,
    note: str = "",
    at: datetime.datetime | None = None,
) -> SupplyRequest:
    """A member institution asks the sterilization center for packages of some sets."""
    profile = _requesting_profile(actor)
    errors: dict[str, str] = {}
    if (
        center.kind != CenterKind.STERILIZATION
        or not center.is_active
        or not Institution.objects.in_alliance(center.alliance_id)
        .filter(pk=profile.institution_id)
        .exists()
    ):
        errors["center"] = _("Choose a sterilization supply center of your alliance.")
    else:
        lines, problem = _check_lines(center, lines)
        if problem:
            errors["lines"] = problem
    if department is not None and department.institution_id != profile.institution_id:
        errors["department"] = _("The department belongs to another institution.")
    at = at or timezone.now()
    if needed_by is not None and needed_by < timezone.localdate(at):
        errors["needed_by"] = _("This date has passed.")
    if errors:
        raise ValidationError(errors)
    request = SupplyRequest.objects.create(
        number=next_number(SUPPLY_REQUEST_PREFIX, timezone.localdate(at)),
        center=center,
        requesting_institution_id=profile.institution_id,
        department=department or profile.department,
        requested_by=actor,
        created_at=at,
        needed_by=needed_by,
        note=note.strip(),
    )
    SupplyRequestLine.objects.bulk_create(
        SupplyRequestLine(request=request, instrument_set=instrument_set, quantity=quantity)
        for instrument_set, quantity in lines
    )
    return request


@transaction.atomic
def supply_request_cancel(*, actor, request: SupplyRequest) -> SupplyRequest:
    """The requester withdraws a request the center has not started to serve."""
    request, _event = SUPPLY_REQUESTS.run(
        actor, request, CANCEL, changes={"cancelled_at": timezone.now(), "cancelled_by": actor}
    )
    return request
