"""The median indicators (response, turnaround, critical-value acknowledgement), computed in SQL
for each period and scope: medians cannot be summed from months."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count, F, Value
from django.db.models.functions import ExtractMonth, ExtractQuarter

from referrals.choices import Direction
from referrals.choices import Status as ReferralStatus
from referrals.models import Referral
from sharedcenters.choices import OrderStatus
from sharedcenters.models import ExamOrder

from ..expressions import Median, SecondsBetween
from .periods import DAY, aware


def _median_sources(year: int, cutoff: datetime.date):
    """Each median indicator: its rows in the year, the institution field, the date and value."""
    start, end = (
        aware(datetime.date(year, 1, 1)),
        aware(min(datetime.date(year + 1, 1, 1), cutoff + DAY)),
    )
    return {
        "referral_response_median_minutes": (
            Referral.objects.filter(
                submitted_at__gte=start, submitted_at__lt=end, responded_at__isnull=False
            )
            .exclude(status__in=[ReferralStatus.DRAFT, ReferralStatus.CANCELLED])
            .exclude(direction=Direction.INTERNAL),
            "to_institution",
            "submitted_at",
            SecondsBetween("responded_at", "submitted_at") / 60.0,
        ),
        "exam_tat_median_hours": (
            ExamOrder.objects.filter(reported_at__gte=start, reported_at__lt=end).exclude(
                status=OrderStatus.CANCELLED
            ),
            "ordering_institution",
            "reported_at",
            SecondsBetween("reported_at", "ordered_at") / 3600.0,
        ),
        "critical_value_ack_median_minutes": (
            ExamOrder.objects.filter(
                critical=True,
                reported_at__gte=start,
                reported_at__lt=end,
                critical_acknowledged_at__isnull=False,
            ),
            "ordering_institution",
            "reported_at",
            SecondsBetween("critical_acknowledged_at", "reported_at") / 60.0,
        ),
    }


def median_values(
    year: int, cutoff: datetime.date, institution_ids: list[int], alliances: dict[int, set[int]]
) -> dict[tuple[str, str, int, str], tuple[Decimal, int]]:
    """(indicator, 'institution'|'alliance', scope id, period key) → (median, cases)."""
    found: dict[tuple[str, str, int, str], tuple[Decimal, int]] = {}
    groupings = [
        (lambda field: ExtractMonth(field), lambda n: f"{year}-{n:02d}"),
        (lambda field: ExtractQuarter(field), lambda n: f"{year}-Q{n}"),
        (lambda field: Value(0), lambda n: str(year)),
    ]
    for key, (rows, owner, when, value) in _median_sources(year, cutoff).items():
        scopes = [("institution", None, rows.filter(**{f"{owner}__in": institution_ids}))]
        scopes += [
            ("alliance", alliance_id, rows.filter(**{f"{owner}__in": members}))
            for alliance_id, members in alliances.items()
        ]
        for scope, scope_id, scoped in scopes:
            for part, label in groupings:
                group = {"part": part(when)}
                if scope == "institution":
                    group["owner"] = F(owner)
                for row in (
                    scoped.values(**group).annotate(m=Median(value), n=Count("pk")).order_by()
                ):
                    if row["m"] is None:
                        continue
                    found[(key, scope, row.get("owner", scope_id), label(row["part"]))] = (
                        Decimal(str(row["m"])),
                        row["n"],
                    )
    return found
