"""The periods of a year the indicators are computed for (the year, its quarters, its months)
and the day bounds their sums use."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from ..choices import PeriodKind

DAY = datetime.timedelta(days=1)
FIRST_YEAR = 2000  # no hospital system here exports anything older
MonthKey = tuple[int, int]  # (institution id, month 1–12)


@dataclass(frozen=True)
class Period:
    kind: str
    key: str
    start: datetime.date
    end: datetime.date  # exclusive
    months: tuple[int, ...]


def periods_of(year: int, today: datetime.date | None = None) -> list[Period]:
    """The year, its quarters and months that have begun by `today`."""
    today = today or timezone.localdate()
    periods = [
        Period(
            PeriodKind.YEAR,
            str(year),
            datetime.date(year, 1, 1),
            datetime.date(year + 1, 1, 1),
            tuple(range(1, 13)),
        )
    ]
    for quarter in range(1, 5):
        first = 3 * quarter - 2
        end = datetime.date(year + 1, 1, 1) if quarter == 4 else datetime.date(year, first + 3, 1)
        months = (first, first + 1, first + 2)
        start = datetime.date(year, first, 1)
        periods.append(Period(PeriodKind.QUARTER, f"{year}-Q{quarter}", start, end, months))
    for month in range(1, 13):
        end = datetime.date(year + 1, 1, 1) if month == 12 else datetime.date(year, month + 1, 1)
        periods.append(
            Period(
                PeriodKind.MONTH,
                f"{year}-{month:02d}",
                datetime.date(year, month, 1),
                end,
                (month,),
            )
        )
    return [p for p in periods if p.start <= today]


def parse_period(text: str) -> Period | None:
    """'2019', '2019-Q3' or '2019-07' → the period, or None when the text is none of these."""
    try:
        year = int(text[:4])
    except ValueError:
        return None
    if not 1900 < year < 2200:
        return None
    for period in periods_of(year, today=datetime.date(year, 12, 31)):
        if period.key == text.upper():
            return period
    return None


def month_bounds(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    start = datetime.date(year, month, 1)
    return start, (
        datetime.date(year + 1, 1, 1) if month == 12 else datetime.date(year, month + 1, 1)
    )


def aware(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
