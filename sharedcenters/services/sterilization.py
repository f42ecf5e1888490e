"""Sterilization supply (消毒供应中心): packages moved in batches by barcode, cycles, recalls,
and the members' requests for sterile packages (申领), served by dispatches.

A batch is all-or-nothing: every barcode is locked and checked first, and one bad barcode
rejects the whole batch with a reason per barcode, so a scan never leaves half a batch moved.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from alliance.choices import Role
from alliance.models import Department, Institution, Patient
from core import outbox
from core.access import profile_of
from core.errors import ActionNotAllowed, IllegalTransition

from ..choices import (
    SUPPLY_REQUEST_PREFIX,
    CenterKind,
    CycleStatus,
    IndicatorResult,
    PackageAction,
    PackageStatus,
    SterilizationMethod,
    SupplyRequestStatus,
)
from ..models import (
    MAX_REQUEST_QUANTITY,
    InstrumentSet,
    Package,
    PackageEvent,
    SharedCenter,
    SterilizationCycle,
    SupplyRequest,
    SupplyRequestLine,
)
from ..querysets import center_ids_of, member_scope_ids
from .orders import next_number

MEMBER, CENTER = "member", "center"
P = PackageStatus
BATCH_LIMIT = 200
MOVED_FIELDS = ("status", "location_id", "cycle_id", "sterilized_at", "expires_on", "used_at",
                "used_for_patient_id", "procedure", "updated_at")  # fmt: skip


@dataclass(frozen=True)
class Move:
    sources: frozenset[str]
    target: str
    sides: frozenset[str]
    where: str  # after the move the package is at the "center", its "owner", or stays put


def _m(sources: set[str], target: str, sides: set[str], where: str) -> Move:
    return Move(frozenset(sources), target, frozenset(sides), where)


PACKAGE_MOVES: dict[str, Move] = {
    # Blocked or expired packages go back through processing: a member sends them in; those
    # still on the center's shelf are taken back in by the center directly.
    PackageAction.COLLECT: _m({P.USED, P.EXPIRED, P.BLOCKED}, P.COLLECTED, {MEMBER}, "owner"),
    PackageAction.RECEIVE: _m({P.COLLECTED, P.EXPIRED, P.BLOCKED}, P.RECEIVED, {CENTER}, "center"),
    PackageAction.CLEAN: _m({P.RECEIVED}, P.CLEANED, {CENTER}, "center"),
    PackageAction.PACK: _m({P.CLEANED}, P.INSPECTED_PACKED, {CENTER}, "center"),
    PackageAction.STERILIZE: _m({P.INSPECTED_PACKED}, P.STERILIZED, {CENTER}, "center"),
    PackageAction.STORE: _m({P.STERILIZED}, P.STORED, {CENTER}, "center"),
    PackageAction.DISPATCH: _m({P.STORED}, P.DISPATCHED, {CENTER}, "owner"),
    PackageAction.RECEIVE_BY_MEMBER: _m({P.DISPATCHED}, P.RECEIVED_BY_MEMBER, {MEMBER}, "owner"),
    PackageAction.USE: _m({P.RECEIVED_BY_MEMBER}, P.USED, {MEMBER}, "owner"),
    PackageAction.EXPIRE: _m({P.STORED, P.RECEIVED_BY_MEMBER}, P.EXPIRED, {MEMBER, CENTER}, "stay"),
}
# A recall blocks what is still sterile on the shelf, on the way or at the member.
UNUSED_AFTER_STERILIZATION = frozenset({P.STERILIZED, P.STORED, P.DISPATCHED, P.RECEIVED_BY_MEMBER})
# Where these states happen decides who may take the package back into processing.
REPROCESSABLE = frozenset({P.EXPIRED, P.BLOCKED})


def sides_resolver(actor) -> Callable[[Package], set[str]]:
    """The sides the actor acts for on a package, with the actor's scope looked up once."""
    if actor.is_active and actor.is_superuser:
        return lambda package: {MEMBER, CENTER}
    profile = profile_of(actor)
    if profile is None:
        return lambda package: set()
    members, centers = set(member_scope_ids(profile)), set(center_ids_of(profile))

    def sides(package: Package) -> set[str]:
        found = set()
        if package.owner_id in members:
            found.add(MEMBER)
        if package.instrument_set.center_id in centers:
            found.add(CENTER)
        return found

    return sides


def package_sides(actor, package: Package) -> set[str]:
    return sides_resolver(actor)(package)


def _sterilization_center(actor, center: SharedCenter) -> None:
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
    _sterilization_center(actor, instrument_set.center)
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
        barcode=barcode, instrument_set=instrument_set, owner=owner,
        location_id=instrument_set.center.institution_id, status=P.RECEIVED,
    )  # fmt: skip
    PackageEvent.objects.create(
        package=package, to_status=P.RECEIVED, location_id=package.location_id, actor=actor,
        at=now, note=_("registered"),
    )  # fmt: skip
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
            {"barcodes": [_("%(barcode)s needs another sterilization method.") % {"barcode": b}
                          for b in wrong]}
        )  # fmt: skip


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
    events = []
    for package in packages:
        from_status = package.status
        package.status = move.target
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
        events.append(
            PackageEvent(
                package=package,
                from_status=from_status,
                to_status=move.target,
                cycle=package.cycle,
                location_id=package.location_id,
                actor=actor,
                at=now,
                note=note,
                patient=patient if action == PackageAction.USE else None,
                procedure=procedure if action == PackageAction.USE else "",
                supply_request=serving.request if serving else None,
            )  # fmt: skip
        )
    # A batch moves alike: one UPDATE per distinct outcome (usually one), not bulk_update's
    # CASE per package and field, which cost more than the rest of the move at 50 packages.
    outcomes: dict[tuple, list[int]] = defaultdict(list)
    for package in packages:
        package.updated_at = now
        outcomes[tuple(getattr(package, name) for name in MOVED_FIELDS)].append(package.pk)
    for values, pks in outcomes.items():
        Package.objects.filter(pk__in=pks).update(**dict(zip(MOVED_FIELDS, values, strict=True)))
    PackageEvent.objects.bulk_create(events)
    if serving is not None and serving.complete():
        serving.request.status = SupplyRequestStatus.FULFILLED
        serving.request.fulfilled_at = now
        serving.request.save(update_fields=["status", "fulfilled_at"])
    return packages


# --- cycles ----------------------------------------------------------------------------------


@transaction.atomic
def cycle_start(
    *, actor, center: SharedCenter, sterilizer: str, cycle_number: str, method: str,
    started_at: datetime.datetime | None = None,
) -> SterilizationCycle:  # fmt: skip
    _sterilization_center(actor, center)
    if method not in SterilizationMethod.values:
        raise ValidationError({"method": _("Choose the sterilization method.")})
    if SterilizationCycle.objects.filter(
        center=center, sterilizer=sterilizer, cycle_number=cycle_number
    ).exists():
        raise ValidationError({"cycle_number": _("This sterilizer already ran this cycle number.")})
    return SterilizationCycle.objects.create(
        center=center, sterilizer=sterilizer, cycle_number=cycle_number, method=method,
        started_at=started_at or timezone.now(), operator=actor,
    )  # fmt: skip


@transaction.atomic
def cycle_record_results(
    *, actor, cycle: SterilizationCycle, physical: str, chemical: str, biological: str,
    ended_at: datetime.datetime | None = None,
) -> SterilizationCycle:  # fmt: skip
    """Record the indicators (WS 310.3): physical and chemical passed release the cycle; the
    biological result, read a day later, may follow. Implant sets wait for it (see store).
    Any failed indicator, even after release, fails the cycle and recalls its packages."""
    cycle = SterilizationCycle.objects.select_for_update().get(pk=cycle.pk)
    _sterilization_center(actor, cycle.center)
    final = cycle.status in (CycleStatus.FAILED, CycleStatus.RECALLED) or (
        cycle.biological_result != IndicatorResult.PENDING
    )
    if final:
        raise IllegalTransition(_("The results of this cycle are already final."))
    results = {"physical_result": physical, "chemical_result": chemical,
               "biological_result": biological}  # fmt: skip
    bad = [name for name, value in results.items() if value not in IndicatorResult.values]
    if bad:
        raise ValidationError({name: _("Choose passed, failed or pending.") for name in bad})
    if cycle.status == CycleStatus.RELEASED and (
        physical != cycle.physical_result or chemical != cycle.chemical_result
    ):
        raise ValidationError(
            {"biological_result": _("Only the biological result may follow a release.")}
        )
    for name, value in results.items():
        setattr(cycle, name, value)
    cycle.ended_at = ended_at or cycle.ended_at or timezone.now()
    if cycle.indicators_failed:
        cycle.status = CycleStatus.FAILED
        cycle.save()
        return cycle_recall(actor=actor, cycle=cycle, reason=_("An indicator failed."))
    if physical == chemical == IndicatorResult.PASSED:
        cycle.status = CycleStatus.RELEASED
    cycle.save()
    return cycle


@transaction.atomic
def cycle_recall(*, actor, cycle: SterilizationCycle, reason: str) -> SterilizationCycle:
    """Block every package of the cycle not yet used; the used ones are listed for follow-up."""
    cycle = SterilizationCycle.objects.select_for_update().get(pk=cycle.pk)
    _sterilization_center(actor, cycle.center)
    if cycle.recalled_at is not None:
        raise IllegalTransition(_("This cycle has already been recalled."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the recall.")})
    now = timezone.now()
    cycle.recalled_at, cycle.recalled_by, cycle.recall_reason = now, actor, reason
    if cycle.status != CycleStatus.FAILED:
        cycle.status = CycleStatus.RECALLED
    cycle.save()
    to_block = list(
        Package.objects.select_for_update()
        .filter(cycle=cycle, status__in=UNUSED_AFTER_STERILIZATION)
        .order_by("pk")
    )
    events = [
        PackageEvent(
            package=package,
            from_status=package.status,
            to_status=P.BLOCKED,
            cycle=cycle,
            location_id=package.location_id,
            actor=actor,
            at=now,
            note=reason,
        )  # fmt: skip
        for package in to_block
    ]
    Package.objects.filter(pk__in=[p.pk for p in to_block]).update(status=P.BLOCKED, updated_at=now)
    PackageEvent.objects.bulk_create(events)
    from .. import tasks

    outbox.enqueue(tasks.notify_recall, cycle.pk)
    return cycle


# --- supply requests (申领) ---------------------------------------------------------------------


def supply_request_sides(actor, request: SupplyRequest) -> set[str]:
    """MEMBER for the requesting institution's staff, CENTER for the center's (both for the
    superuser); the office reads requests but acts for neither side."""
    if actor.is_active and actor.is_superuser:
        return {MEMBER, CENTER}
    profile = profile_of(actor)
    if profile is None:
        return set()
    sides = set()
    if request.requesting_institution_id in member_scope_ids(profile):
        sides.add(MEMBER)
    if request.center_id in center_ids_of(profile):
        sides.add(CENTER)
    return sides


def _lock_request(request: SupplyRequest) -> SupplyRequest:
    # `of=self`: the center row stays free for every other request of the center.
    return (
        SupplyRequest.objects.select_for_update(of=("self",))
        .select_related("center")
        .get(pk=request.pk)
    )


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
        self.request = _lock_request(request)
        _sterilization_center(actor, self.request.center)
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
                "barcode": package.barcode, "owner": package.owner.display_name,
            }  # fmt: skip
        line = self.lines.get(package.instrument_set_id)
        if line is None:
            return _("%(barcode)s: %(set)s is not on request %(number)s.") % {
                "barcode": package.barcode, "set": package.instrument_set.name,
                "number": self.request.number,
            }  # fmt: skip
        if self.sent[line.instrument_set_id] >= line.quantity:
            return _(
                "%(barcode)s: %(set)s is already complete (%(quantity)d requested)."
            ) % {
                "barcode": package.barcode, "set": line.instrument_set.name,
                "quantity": line.quantity,
            }  # fmt: skip
        self.sent[line.instrument_set_id] += 1
        return ""

    def complete(self) -> bool:
        return all(self.sent[set_id] >= line.quantity for set_id, line in self.lines.items())


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
        center=center, requesting_institution_id=profile.institution_id,
        department=department or profile.department, requested_by=actor, created_at=at,
        needed_by=needed_by, note=note.strip(),
    )  # fmt: skip
    SupplyRequestLine.objects.bulk_create(
        SupplyRequestLine(request=request, instrument_set=instrument_set, quantity=quantity)
        for instrument_set, quantity in lines
    )
    return request


@transaction.atomic
def supply_request_cancel(*, actor, request: SupplyRequest) -> SupplyRequest:
    """The requester withdraws a request the center has not started to serve."""
    locked = _lock_request(request)
    if MEMBER not in supply_request_sides(actor, locked):
        raise ActionNotAllowed(_("Only the requesting institution may cancel its request."))
    if locked.status != SupplyRequestStatus.SUBMITTED:
        raise IllegalTransition(
            _("Request %(number)s is %(status)s; it cannot be cancelled.")
            % {"number": locked.number, "status": locked.get_status_display()}
        )
    if locked.package_events.filter(to_status=P.DISPATCHED).exists():
        raise IllegalTransition(
            _("Packages have been dispatched against %(number)s; it cannot be cancelled.")
            % {"number": locked.number}
        )
    locked.status = SupplyRequestStatus.CANCELLED
    locked.cancelled_at, locked.cancelled_by = timezone.now(), actor
    locked.save(update_fields=["status", "cancelled_at", "cancelled_by"])
    return locked
