"""Sterilization cycles: started, their indicators recorded (which releases or fails them), and
recalled; a recall blocks the cycle's unused packages and tells their holders (its effect)."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import tasks
from ..choices import CycleStatus, IndicatorResult, SterilizationMethod
from ..models import Package, SharedCenter, SterilizationCycle
from ..workflow import (
    BLOCK,
    CYCLES,
    FAIL,
    PACKAGES,
    RECALL,
    RECORD,
    RELEASE,
    UNUSED_AFTER_STERILIZATION,
)
from .sterilization import sterilization_staff_only


@transaction.atomic
def cycle_start(
    *,
    actor,
    center: SharedCenter,
    sterilizer: str,
    cycle_number: str,
    method: str,
    started_at: datetime.datetime | None = None,
) -> SterilizationCycle:
    sterilization_staff_only(actor, center)
    if method not in SterilizationMethod.values:
        raise ValidationError({"method": _("Choose the sterilization method.")})
    if SterilizationCycle.objects.filter(
        center=center, sterilizer=sterilizer, cycle_number=cycle_number
    ).exists():
        raise ValidationError({"cycle_number": _("This sterilizer already ran this cycle number.")})
    return SterilizationCycle.objects.create(
        center=center,
        sterilizer=sterilizer,
        cycle_number=cycle_number,
        method=method,
        started_at=started_at or timezone.now(),
        operator=actor,
    )


@transaction.atomic
def cycle_record_results(
    *,
    actor,
    cycle: SterilizationCycle,
    physical: str,
    chemical: str,
    biological: str,
    ended_at: datetime.datetime | None = None,
) -> SterilizationCycle:
    """Record the indicators (WS 310.3): physical and chemical passed release the cycle; the
    biological result, read a day later, may follow. Implant sets wait for it (see store).
    Any failed indicator, even after release, fails the cycle and recalls its packages."""
    cycle = CYCLES.lock(cycle)
    sterilization_staff_only(actor, cycle.center)
    CYCLES.check(actor, cycle, RECORD)  # results still pending: the same refusal for each step
    results = {
        "physical_result": physical,
        "chemical_result": chemical,
        "biological_result": biological,
    }
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
    changes = {"ended_at": ended_at or cycle.ended_at or timezone.now()}
    if cycle.indicators_failed:
        cycle, _event = CYCLES.run(actor, cycle, FAIL, checked=True, changes=changes, data=results)
        return cycle_recall(actor=actor, cycle=cycle, reason=_("An indicator failed."))
    passed = physical == chemical == IndicatorResult.PASSED
    step = RELEASE if passed and cycle.status == CycleStatus.RUNNING else RECORD
    cycle, _event = CYCLES.run(actor, cycle, step, checked=True, changes=changes, data=results)
    return cycle


@transaction.atomic
def cycle_recall(*, actor, cycle: SterilizationCycle, reason: str) -> SterilizationCycle:
    """Block every package of the cycle not yet used; the used ones are listed for follow-up."""
    cycle = CYCLES.lock(cycle)
    sterilization_staff_only(actor, cycle.center)
    CYCLES.check(actor, cycle, RECALL)
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the recall.")})
    now = timezone.now()
    cycle, _event = CYCLES.run(
        actor,
        cycle,
        RECALL,
        checked=True,
        note=reason,
        at=now,
        changes={"recalled_at": now, "recalled_by": actor, "recall_reason": reason},
        effects=[(tasks.notify_recall,)],
    )
    to_block = list(
        Package.objects.select_for_update()
        .filter(cycle=cycle, status__in=UNUSED_AFTER_STERILIZATION)
        .order_by("pk")
    )
    for package in to_block:
        package.updated_at = now
    PACKAGES.run_batch(actor, to_block, BLOCK, fields=("status", "updated_at"), note=reason, at=now)
    return cycle
