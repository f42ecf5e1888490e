"""The preview (校验) of an import: per institution and month, the totals before and after.

A spreadsheet round trip that strips leading zeros from record ids turns every row of a
re-imported file into a new one, and silently doubles the month's visits. So every import says,
for each institution and month its rows fall in, the total (visits, discharges, open beds)
before and after, and warns where a month would grow by more than half through new records.

"Before" is read where it is cheapest and still exact: a file of new rows only (the direct
COPY) adds rows with ids above the highest id before it, so before is after without them; the
staging merge reads it once the file is staged and before anything is merged; the plain path
(SQLite, development sizes) reads it before writing.
"""

from __future__ import annotations

import datetime

from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from alliance.models import Institution

from ..specs import Spec

GROWTH_WARNING = 0.5  # a month growing by more than half through new records is flagged
PREVIEW_MONTHS = 600  # month rows listed in a preview; the warnings cover them all
WARNINGS_LISTED = 100  # growth warnings written out; the rest are counted in one sentence
MEASURES = {
    "visits": gettext_noop("visits"),
    "stays": gettext_noop("discharges"),
    "beds": gettext_noop("open beds"),
}

Months = dict[tuple[int, datetime.date], tuple[int, int]]  # (institution, month) → total, rows


class Totals:
    """The before and after of one import, read around its writer."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.before: Months | None = None
        self.max_id: int | None = None
        self.institutions: set[int] | None = None

    def before_direct_write(self) -> None:
        self.max_id = self.spec.model.objects.aggregate(top=Max("pk"))["top"] or 0

    def before_plain_write(self, institutions: set[int]) -> None:
        self.before = self._read(institutions, None)

    def before_merge(self, tally: dict) -> None:
        self.before = self._read({key[0] for key in tally}, _bounds(tally))

    def preview(self, tally: dict, *, created: int, updated: int) -> dict:
        bounds = _bounds(tally)
        institutions = {key[0] for key in tally}
        after = self._read(institutions, bounds)
        before = self.before
        if before is None:  # the direct COPY: before is after without the rows it added
            before = self._read(institutions, bounds, max_id=self.max_id)
        return _describe(self.spec, tally, before, after, created, updated)

    def _read(self, institutions: set[int], bounds, *, max_id: int | None = None) -> Months:
        spec = self.spec
        if not institutions or not spec.month:
            return {}
        facts = spec.model.objects.filter(institution_id__in=institutions)
        if bounds is not None:
            first, after = bounds
            facts = facts.filter(**{f"{spec.month}__gte": first, f"{spec.month}__lt": after})
        else:
            facts = facts.filter(**{f"{spec.month}__isnull": False})
        if max_id is not None:
            facts = facts.filter(Q(pk__lte=max_id))
        total = Sum(spec.amount) if spec.amount else Count("pk")
        found = (
            facts.order_by()
            .annotate(month_start=TruncMonth(spec.month))
            .values_list("institution_id", "month_start")
            .annotate(total=total, rows=Count("pk"))
        )
        return {(pk, _month(start)): (int(n or 0), rows) for pk, start, n, rows in found}


def _month(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        value = value.date()
    return value.replace(day=1)


def _bounds(tally: dict) -> tuple[datetime.date, datetime.date] | None:
    if not tally:
        return None
    first = min((y, m) for _pk, y, m in tally)
    last = max((y, m) for _pk, y, m in tally)
    after = (last[0] + 1, 1) if last[1] == 12 else (last[0], last[1] + 1)
    return datetime.date(*first, 1), datetime.date(*after, 1)


def _describe(spec: Spec, tally: dict, before: Months, after: Months, created, updated) -> dict:
    names = dict(
        Institution.objects.filter(pk__in={key[0] for key in tally}).values_list("pk", "code")
    )
    measure = _(MEASURES.get(spec.kind, spec.kind))
    months, warnings, more = [], [], 0
    for pk, year, month in sorted(tally, key=lambda k: (names.get(k[0], ""), k[1], k[2])):
        start = datetime.date(year, month, 1)
        file_total, file_rows = tally[(pk, year, month)]
        old, old_rows = before.get((pk, start), (0, 0))
        new, new_rows = after.get((pk, start), (0, 0))
        grows = old > 0 and new - old > GROWTH_WARNING * old and new_rows > old_rows
        entry = {
            "institution_code": names.get(pk, ""),
            "month": f"{year:04d}-{month:02d}",
            "in_file": file_total,
            "before": old,
            "after": new,
            "new_records": max(new_rows - old_rows, 0),
            "grows": grows,
        }
        if len(months) < PREVIEW_MONTHS:
            months.append(entry)
        if grows and len(warnings) >= WARNINGS_LISTED:
            more += 1
        elif grows:
            warnings.append(
                _(
                    "%(code)s %(month)s: %(measure)s would grow from %(before)s to %(after)s "
                    "(+%(percent)d %%) through %(new)s new records. Check that these records were "
                    "not imported before under other ids (leading zeros lost in Excel?)."
                )
                % {
                    "code": entry["institution_code"],
                    "month": entry["month"],
                    "measure": measure,
                    "before": f"{old:,}",
                    "after": f"{new:,}",
                    "percent": round((new - old) * 100 / old),
                    "new": f"{entry['new_records']:,}",
                }
            )
    if more:
        warnings.append(
            ngettext("%(n)d more month grows likewise.", "%(n)d more months grow likewise.", more)
            % {"n": more}
        )
    return {
        "measure": measure,
        "months": months,
        "month_count": len(tally),
        "growth_warnings": warnings,
    }
