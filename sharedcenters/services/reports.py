"""The center's reports on diagnostic orders: the first report, its amendments (the replaced
report kept as a version), and the escalation of critical values nobody has acknowledged.

A report tells the orderer, a critical one alerts the ordering department at once: the step's
effects, queued through the outbox in its transaction (core.workflow).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import selectors, tasks
from ..choices import CenterKind, OrderAction, OrderStatus, ResultFlag
from ..models import ExamOrder, LabResult, OrderEvent, ReportVersion
from ..workflow import ORDERS, lock_order
from .orders import run_step


def _clean_results(results: list[dict]) -> list[LabResult]:
    rows, errors = [], []
    for index, result in enumerate(results, start=1):
        analyte = str(result.get("analyte", "")).strip()
        value = str(result.get("value", "")).strip()
        flag = result.get("flag") or ""
        if not analyte or not value:
            errors.append(_("Row %(row)d: analyte and value are required.") % {"row": index})
        if flag not in ResultFlag.values:
            errors.append(_("Row %(row)d: unknown flag.") % {"row": index})
        rows.append(
            LabResult(
                analyte=analyte[:80],
                value=value[:40],
                unit=str(result.get("unit", ""))[:20],
                reference_range=str(result.get("reference_range", ""))[:40],
                flag=flag,
            )
        )
    if errors:
        raise ValidationError({"results": errors})
    return rows


def _clean_report(
    locked: ExamOrder, results, impression: str, critical: bool, critical_note: str
) -> tuple[list[LabResult], bool, str]:
    """The checked result rows, and whether the report is critical and why."""
    rows = _clean_results(results or [])
    if locked.center.kind == CenterKind.LAB and not rows:
        raise ValidationError({"results": _("Enter at least one result.")})
    if locked.center.kind != CenterKind.LAB and not impression.strip():
        raise ValidationError({"impression": _("Enter the impression.")})
    critical = critical or any(row.flag == ResultFlag.CRITICAL for row in rows)
    if critical and not critical_note.strip():
        flagged = [f"{row.analyte} {row.value} {row.unit}".strip() for row in rows if row.flag]
        critical_note = "; ".join(flagged) or impression
    return rows, critical, critical_note


@transaction.atomic
def order_report(
    *,
    actor,
    order: ExamOrder,
    results: list[dict] | None = None,
    findings: str = "",
    impression: str = "",
    critical: bool = False,
    critical_note: str = "",
    reviewed_by=None,
    at=None,
) -> ExamOrder:
    """The center's report: results for the lab, findings and impression for imaging and ECG.

    A critical result (flag `critical` on any analyte, or marked by the reporting doctor)
    alerts the ordering department at once; the time to acknowledgement is then measured."""
    locked = lock_order(order)
    ORDERS.check(actor, locked, OrderAction.REPORT)  # who and when first, then what
    _check_reviewer(locked, reviewed_by)
    rows, critical, critical_note = _clean_report(
        locked, results, impression, critical, critical_note
    )
    at = at or timezone.now()
    notice = tasks.alert_critical_value if critical else tasks.notify_orderer
    order, _event = run_step(
        actor,
        locked,
        OrderAction.REPORT,
        at=at,
        checked=True,
        effects=[(notice,)],
        reported_at=at,
        reported_by=actor,
        reviewed_by=reviewed_by,
        findings=findings,
        impression=impression,
        critical=critical,
        critical_note=critical_note if critical else "",
        event_data={"critical": critical},
    )
    order.results.all().delete()
    for row in rows:
        row.order = order
    LabResult.objects.bulk_create(rows)
    return order


def _check_reviewer(order: ExamOrder, reviewed_by) -> None:
    """The reviewer of a report is a colleague at the center (the API's field says the same)."""
    if reviewed_by is not None and not (
        selectors.center_colleagues(order.center).filter(pk=reviewed_by.pk).exists()
    ):
        raise ValidationError({"reviewed_by": _("Choose a colleague of this center.")})


@transaction.atomic
def order_amend(
    *,
    actor,
    order: ExamOrder,
    reason: str,
    results: list[dict] | None = None,
    findings: str = "",
    impression: str = "",
    critical: bool = False,
    critical_note: str = "",
    reviewed_by=None,
    at=None,
) -> ExamOrder:
    """Correct an issued report. The report it replaces is kept as a `ReportVersion` with who
    amended it, when and why; the order shows the new one and goes back to the orderer to read.

    The first report's time stays the order's `reported_at`: turnaround counts to it. A critical
    value the amendment adds (or changes) is alerted and must be acknowledged again."""
    reason = (reason or "").strip()
    locked = lock_order(order)
    ORDERS.check(actor, locked, OrderAction.AMEND)
    _check_reviewer(locked, reviewed_by)
    if not reason:
        raise ValidationError({"reason": _("Give the reason for amending the report.")})
    rows, critical, critical_note = _clean_report(
        locked, results, impression, critical, critical_note
    )
    at = at or timezone.now()
    previous = locked.report_versions.count()
    ReportVersion.objects.create(
        order=locked,
        version=previous + 1,
        reported_at=_current_report_time(locked),
        reported_by_id=locked.reported_by_id,
        reviewed_by_id=locked.reviewed_by_id,
        findings=locked.findings,
        impression=locked.impression,
        critical=locked.critical,
        critical_note=locked.critical_note,
        superseded_at=at,
        superseded_by=actor,
        reason=reason,
        results=[
            {
                "analyte": r.analyte,
                "value": r.value,
                "unit": r.unit,
                "reference_range": r.reference_range,
                "flag": r.flag,
            }
            for r in locked.results.all()
        ],
    )
    new_alert = critical and (not locked.critical or critical_note != locked.critical_note)
    changes = {
        "reported_by": actor,
        "reviewed_by": reviewed_by,
        "findings": findings,
        "impression": impression,
        "critical": critical,
        "critical_note": critical_note if critical else "",
        "acknowledged_at": None,
    }
    if new_alert or not critical:
        changes.update(
            critical_acknowledged_at=None, critical_acknowledged_by=None, critical_escalated_at=None
        )
    notice = tasks.alert_critical_value if new_alert else tasks.notify_orderer
    order, _event = run_step(
        actor,
        locked,
        OrderAction.AMEND,
        note=reason,
        at=at,
        checked=True,
        effects=[(notice,)],
        event_data={"version": previous + 2, "critical": critical},
        **changes,
    )
    order.results.all().delete()  # the old rows live on in the version just written
    for row in rows:
        row.order = order
    LabResult.objects.bulk_create(rows)
    return order


def _current_report_time(order: ExamOrder) -> datetime.datetime:
    """When the report on the order was issued: the last amendment's time, or the first report."""
    last = order.report_versions.order_by("-version").first()
    return last.superseded_at if last else order.reported_at


# --- critical values nobody has acknowledged ------------------------------------------------


def critical_ack_limit() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.CRITICAL_VALUE_ACK_MINUTES)


def escalate_critical_values(now: datetime.datetime | None = None) -> dict:
    """Escalate every critical value unacknowledged past the limit, once (beat, every minute)."""
    now = now or timezone.now()
    since = now - critical_ack_limit()
    # A critical value an amendment brought counts from the amendment, not the first report.
    amended_since = OrderEvent.objects.filter(
        order=OuterRef("pk"), action=OrderAction.AMEND, at__gt=since
    )
    pending = ExamOrder.objects.filter(
        ~Exists(amended_since),
        critical=True,
        critical_acknowledged_at__isnull=True,
        critical_escalated_at__isnull=True,
        status=OrderStatus.REPORTED,
        reported_at__lte=since,
    ).values_list("pk", flat=True)
    escalated = 0
    for pk in pending:
        with transaction.atomic():
            order = ExamOrder.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if order is None or order.critical_escalated_at or order.critical_acknowledged_at:
                continue  # another worker has it, or it was acknowledged meanwhile
            order.critical_escalated_at = now
            order.save(update_fields=["critical_escalated_at"])
            ORDERS.record(
                order,
                OrderAction.ESCALATE,
                None,
                order.status,
                at=now,
                effects=[(tasks.escalate_critical_value,)],
            )
            escalated += 1
    return {"escalated": escalated}
