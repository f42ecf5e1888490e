"""Sterilization supply (消毒供应中心): packages registered and moved in batches by barcode, a
dispatch serving a member's supply request (申领). Cycles are in `.cycles`, the requests
themselves in `.supply_requests`.

A batch is all-or-nothing: every barcode is locked and checked first, and one bad barcode
rejects the whole batch with a reason per barcode, so a scan never leaves half a batch moved.
"""

from __future__ import annotations

import datetime
from collections import Counter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.models import Institution, Patient
from core.access import profile_of
from core.errors import ActionNotAllowed, IllegalTransition

from ..choices import (
    CenterKind,
    CycleStatus,
    IndicatorResult,
    PackageAction,
    PackageStatus,
    SupplyRequestStatus,
)
from ..models import (
    InstrumentSet,
    Package,
    PackageEvent,
    SharedCenter,
    SterilizationCycle,
    SupplyRequest,
)
from ..querysets import center_ids_of
from ..workflow import (
    CENTER,
    FULFIL,
    MEMBER,
    PACKAGE_MOVES,
    PACKAGES,
    SUPPLY_REQUESTS,
    lock_request,
    package_sides,
    sides_resolver,
    supply_request_sides,
)

P = PackageStatus
BATCH_LIMIT = 200
MOVED_FIELDS = (
    "status",
    "location_id",
    "cycle_id",
    "sterilized_at",
    "expires_on",
    "used_at",
    "used_for_patient_id",
    "procedure",
    "updated_at",
)
# Where these states happen decides who may take the package back into processing.
REPROCESSABLE = frozenset({P.EXPIRED, P.BLOCKED})
# The tables and the sides live in ..workflow; these names are kept for the callers and tests.
__all__ = ["CENTER", "MEMBER", "PACKAGE_MOVES", "package_sides", "supply_request_sides"]


def sterilization_staff_only(actor, center: SharedCenter) -> None:
    if center.kind != CenterKind.STERILIZATION:
        raise ValidationError({"center": _("Choose a sterilization supply center.")})
    if actor.is_superuser and actor.is_active:
        return
    profile = profile_of(actor)
    if profile is None or center.pk not in center_ids_of(profile):
        raise ActionNotAllowed(_("Only the center's staff may do this."))


@transaction.atomic
def package_register(
    *, actor, instrument_set: InstrumentSet, owner: Institution, barcode: str
) -> Package:
    """A new package enters the loop at the center, ready to be cleaned and packed."""
    sterilization_staff_only(actor, instrument_set.center)
    barcode = barcode.strip()
    if not barcode:
        raise ValidationError({"barcode": _("Scan or type the barcode.")})
    if Package.objects.filter(barcode=barcode).exists():
        raise ValidationError({"barcode": _("This barcode is already registered.")})
    if (
        not Institution.objects.in_alliance(instrument_set.center.alliance_id)
        .filter(pk=owner.pk)
        .exists()
    ):
        raise ValidationError({"owner": _("The institution is not a member of the alliance.")})
    now = timezone.now()
    package = Package.objects.create(
        barcode=barcode,
        instrument_set=instrument_set,
        owner=owner,
        location_id=instrument_set.center.institution_id,
        status=P.RECEIVED,
    )
    PACKAGES.record(package, PackageAction.REGISTER, actor, "", at=now, note=_("registered"))
    return package


def _at_center(package: Package) -> bool:
    return package.location_id == package.instrument_set.center.institution_id


def _not_releasable(package: Package) -> str:
    """Why the package may not leave its cycle for the shelf yet, or "" when it may."""
    cycle = package.cycle
    if cycle.status != CycleStatus.RELEASED:
        return _("its cycle has not been released.")
    if package.instrument_set.implant and cycle.biological_result != IndicatorResult.PASSED:
        return _("implants wait for the biological indicator.")
    return ""


def _check_cycle_for_loading(cycle: SterilizationCycle | None, packages: list[Package]) -> None:
    if cycle is None:
        raise ValidationError({"cycle": _("Choose the sterilization cycle.")})
    if any(p.instrument_set.center_id != cycle.center_id for p in packages):
        raise ValidationError({"cycle": _("Choose a cycle of the packages' own center.")})
    if cycle.status != CycleStatus.RUNNING:
        raise IllegalTransition(_("Packages are loaded only into a running cycle."))
    wrong = [p.barcode for p in packages if p.instrument_set.method != cycle.method]
    if wrong:
        raise ValidationError(
            {
                "barcodes": [
                    _("%(barcode)s needs another sterilization method.") % {"barcode": b}
                    for b in wrong
                ]
            }
        )


@transaction.atomic
def packages_move(
    *,
    actor,
    barcodes: list[str],
    action: str,
    cycle: SterilizationCycle | None = None,
    patient: Patient | None = None,
    procedure: str = "",
    note: str = "",
    supply_request: SupplyRequest | None = None,
) -> list[Package]:
    """Move every scanned package one step; all of them or none. A dispatch may serve a member's
    supply request: then every package must be one the request still waits for."""
    if action not in PACKAGE_MOVES:
        raise ValidationError({"action": _("Unknown step.")})
    move = PACKAGE_MOVES[action]
    if supply_request is not None and action != PackageAction.DISPATCH:
        raise ValidationError({"supply_request": _("Only a dispatch serves a request.")})
    codes = list(dict.fromkeys(code.strip() for code in barcodes if code.strip()))
    if not codes:
        raise ValidationError({"barcodes": _("Scan or type at least one barcode.")})
    if len(codes) > BATCH_LIMIT:
        raise ValidationError(
            {"barcodes": _("At most %(n)d packages at once.") % {"n": BATCH_LIMIT}}
        )
    # The request row before the packages: two dispatches against one request queue there, and
    # the second counts what the first has sent.
    serving = _RequestServing(actor, supply_request) if supply_request is not None else None
    visible = Package.objects.restrict(actor).filter(barcode__in=codes)
    packages = list(
        Package.objects.select_for_update(of=("self",))
        .select_related("instrument_set__center", "cycle", "owner")
        .filter(pk__in=visible.values("pk"))
        .order_by("pk")
    )
    found = {p.barcode: p for p in packages}
    today = timezone.localdate()
    sides = sides_resolver(actor)
    problems = []
    for code in codes:
        package = found.get(code)
        if package is None:
            problems.append(_("%(barcode)s: not found.") % {"barcode": code})
        elif not move.sides & sides(package):
            problems.append(_("%(barcode)s: not yours to move.") % {"barcode": code})
        elif package.status not in move.sources:
            problems.append(
                _("%(barcode)s is %(status)s.")
                % {"barcode": code, "status": package.get_status_display()}
            )
        elif package.status in REPROCESSABLE and (
            _at_center(package) != (action == PackageAction.RECEIVE)
        ):
            where = (
                _("%(barcode)s is at the center: take it back in with “receive”.")
                if _at_center(package)
                else _("%(barcode)s is at the member: it must be collected first.")
            )
            problems.append(where % {"barcode": code})
        elif action == PackageAction.STORE and (problem := _not_releasable(package)):
            problems.append(f"{code}: {problem}")
        elif action in (PackageAction.DISPATCH, PackageAction.USE) and (
            package.expires_on is None or package.expires_on < today
        ):
            problems.append(_("%(barcode)s: sterility has expired.") % {"barcode": code})
        elif serving is not None and (problem := serving.take(package)):
            problems.append(problem)
    if problems:
        raise ValidationError({"barcodes": problems})
    if action == PackageAction.STERILIZE:
        _check_cycle_for_loading(cycle, packages)
    if (
        action == PackageAction.USE
        and patient
        and not Patient.objects.restrict(actor).filter(pk=patient.pk).exists()
    ):
        raise ValidationError({"patient": _("Patient not found.")})
    now = timezone.now()

    def apply(package: Package) -> None:
        if move.where == "center":
            package.location_id = package.instrument_set.center.institution_id
        elif move.where == "owner":
            package.location_id = package.owner_id
        if action == PackageAction.STERILIZE:
            package.cycle, package.sterilized_at, package.expires_on = cycle, now, None
        elif action == PackageAction.STORE:
            package.expires_on = today + datetime.timedelta(
                days=package.instrument_set.shelf_life_days
            )
        elif action == PackageAction.USE:
            package.used_at, package.used_for_patient, package.procedure = now, patient, procedure
        package.updated_at = now

    used = action == PackageAction.USE
    PACKAGES.run_batch(
        actor,
        packages,
        action,
        fields=MOVED_FIELDS,
        apply=apply,
        note=note,
        at=now,
        event_fields=lambda package: {
            "patient": patient if used else None,
            "procedure": procedure if used else "",
            "supply_request": serving.request if serving else None,
        },
    )
    if serving is not None and serving.complete():
        SUPPLY_REQUESTS.run(actor, serving.request, FULFIL, changes={"fulfilled_at": now}, at=now)
    return packages


# --- a dispatch against a supply request (申领) ---------------------------------------------


def dispatched_by_set(request: SupplyRequest) -> Counter[int]:
    """Packages sent against the request so far, by instrument set id."""
    rows = (
        PackageEvent.objects.filter(supply_request=request, to_status=P.DISPATCHED)
        .order_by()
        .values("package__instrument_set_id")
        .annotate(n=Count("pk"))
        .values_list("package__instrument_set_id", "n")
    )
    return Counter(dict(rows))


class _RequestServing:
    """A dispatch batch against one request: locks it, then takes its packages one by one."""

    def __init__(self, actor, request: SupplyRequest):
        self.request = lock_request(request)
        sterilization_staff_only(actor, self.request.center)
        if self.request.status != SupplyRequestStatus.SUBMITTED:
            raise IllegalTransition(
                _("Request %(number)s is %(status)s; nothing more is dispatched against it.")
                % {"number": self.request.number, "status": self.request.get_status_display()}
            )
        self.lines = {
            line.instrument_set_id: line
            for line in self.request.lines.select_related("instrument_set")
        }
        self.sent = dispatched_by_set(self.request)

    def take(self, package: Package) -> str:
        """Why the package cannot serve the request, or "" after counting it in."""
        if package.owner_id != self.request.requesting_institution_id:
            return _("%(barcode)s belongs to %(owner)s, not to the requesting institution.") % {
                "barcode": package.barcode,
                "owner": package.owner.display_name,
            }
        line = self.lines.get(package.instrument_set_id)
        if line is None:
            return _("%(barcode)s: %(set)s is not on request %(number)s.") % {
                "barcode": package.barcode,
                "set": package.instrument_set.name,
                "number": self.request.number,
            }
        if self.sent[line.instrument_set_id] >= line.quantity:
            return _("%(barcode)s: %(set)s is already complete (%(quantity)d requested).") % {
                "barcode": package.barcode,
                "set": line.instrument_set.name,
                "quantity": line.quantity,
            }
        self.sent[line.instrument_set_id] += 1
        return ""

    def complete(self) -> bool:
        return all(self.sent[set_id] >= line.quantity for set_id, line in self.lines.items())
