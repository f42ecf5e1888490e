"""What each kind of fact file holds, and checking it row by row.

A kind is a small table (`Spec`): its columns in template order, each with its cell parser, the
Chinese names hospital exports give it (`ALIASES`), the model fields the row fills and how the
preview sums a month. Cells are read as clerks' files really hold them: `1,234.50`, `￥1234.5`,
`1234.50元`, full-width digits, dates with a time or as `2019年1月5日`, `20190105` or an Excel
serial number. Each problem names the row, the column and the value found, and what is expected.

Opening files (CSV, TSV, XLSX, XLS, ODS) is tables.py; its names are re-exported here. The kinds
are specs.py, reading one cell is cells.py; this module checks a header and a row.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from operator import call, itemgetter

from django.utils.translation import gettext as _

from .cells import TOTAL_ROW, Bad, cell_parsers, fast_parsers, messages, shown
from .specs import ALIAS_TABLES, ALIASES, Column, Spec, normalize_name
from .tables import (  # noqa: F401 - the readers' public names
    SAMPLE_BYTES,
    FileError,
    LimitExceeded,
    Table,
    cell_text,
    count_lines,
    detect_encoding,
    open_table,
)

# --- the header ------------------------------------------------------------------------------


@dataclass
class Header:
    """Where each column of the spec is in the file (None: absent, its default used), the
    file's names for them, the columns ignored and the header's problems."""

    positions: dict[str, int | None]
    labels: dict[str, str]
    ignored: list[str]
    problems: list[tuple[str, str]]


def header_score(spec: Spec) -> Callable[[list[str]], tuple[int, bool]]:
    """How many of the spec's columns a row names, and whether it names every required one."""
    table = ALIAS_TABLES[spec.kind]
    required = {column.name for column in spec.columns if column.required}

    def score(values: list[str]) -> tuple[int, bool]:
        found = {table[n][0] for n in map(normalize_name, values) if n in table}
        return len(found), required <= found

    return score


def check_header(spec: Spec, header: list[str]) -> Header:
    table = ALIAS_TABLES[spec.kind]
    best: dict[str, tuple[int, int]] = {}  # column → (rank, position)
    ties: set[str] = set()
    ignored = []
    for position, name in enumerate(header):
        key = normalize_name(name)
        if not key:
            continue
        if key not in table:
            ignored.append(name.strip()[:64])
            continue
        column, rank = table[key]
        if column not in best or rank < best[column][0]:
            if column in best:
                ignored.append(header[best[column][1]].strip()[:64])
            best[column] = (rank, position)
            ties.discard(column)
        elif rank == best[column][0]:
            ties.add(column)
        else:
            ignored.append(name.strip()[:64])
    problems = [(column, _("The column appears more than once.")) for column in sorted(ties)]
    for column in spec.columns:
        if column.required and column.name not in best:
            aliases = "、".join(ALIASES.get(column.name, ())[:3])
            missing = _("Missing column (also accepted: %(aliases)s).") % {"aliases": aliases}
            problems.append((column.name, missing if aliases else _("Missing column.")))
    positions = {c.name: best[c.name][1] if c.name in best else None for c in spec.columns}
    labels = {c: header[p].strip() for c, p in positions.items() if p is not None}
    return Header(positions, labels, ignored, problems)


# --- one row ---------------------------------------------------------------------------------

Problems = list[tuple[str, str, str]]  # (column, value found, what is wrong)
Parse = Callable[[list[str]], tuple[tuple | None, Problems]]
TOTAL: Problems = [("", "", "total")]  # the answer for a 合计 / 总计 / 小计 row: skipped


def row_parser(spec: Spec, header: Header, codes: dict[str, int], today: datetime.date) -> Parse:
    """A function checking one row (its values in file order).

    It answers (row, ()) for a good row, a tuple in the spec's column order; (None, problems)
    for a bad one; (None, []) for a blank one; (None, TOTAL) for a total row. A row first takes
    the fast path (strict converters, no words); any doubt sends it to the slow path, which
    says what is wrong with each cell and alone decides: the fast path accepts nothing it
    would refuse.
    """
    present = [c for c in spec.columns if header.positions[c.name] is not None]
    positions = [header.positions[c.name] for c in present]
    pick = itemgetter(*positions) if len(positions) > 1 else lambda v: (v[positions[0]],)
    width = max(positions) + 1
    say = messages()
    slow_parsers = cell_parsers(codes, today, say)
    fast_all = fast_parsers(spec, codes, slow_parsers)
    fast = [fast_all[spec.columns.index(c)] for c in present]
    complete = _completer(spec, present)
    start, end = spec.span
    ordered = end is not None and end != start  # discharge on or after admission

    def slow(values: list[str]) -> tuple[tuple | None, Problems]:
        values = [value.strip() for value in values] + [""] * (width - len(values))
        if not any(values):
            return None, []
        if TOTAL_ROW.match(next(value for value in values if value)):
            return None, TOTAL  # a total row of the export (合计 in its first filled cell)
        row, problems = [], []
        for column, value in zip(present, pick(values), strict=True):
            if not value:
                if column.required:
                    problems.append((column.name, "", say["required"]))
                row.append(column.default)
                continue
            try:
                row.append(slow_parsers[column.parse](value))
            except Bad as exc:
                problems.append((column.name, value, str(exc)))
                row.append(None)
        full = complete(tuple(row))
        if not problems and ordered and full[end] is not None and full[end] < full[start]:
            found = pick(values)[[c.name for c in present].index(spec.columns[end].name)]
            admit = full[start].isoformat()
            message = say["order"] % {"value": shown(found), "admit": admit}
            problems.append((spec.columns[end].name, found, message))
        return (None, problems) if problems else (full, problems)

    def parse(values: list[str]) -> tuple[tuple | None, Problems]:
        try:
            row = complete(tuple(map(call, fast, pick(values))))
        except Exception:  # noqa: BLE001 - any doubt: the slow path finds it and words it
            return slow(values)
        if ordered and row[end] is not None and row[end] < row[start]:
            return slow(values)
        return row, ()

    return parse


def _completer(spec: Spec, present: list[Column]) -> Callable[[tuple], tuple]:
    """Fills the defaults of the optional columns a file leaves out (nothing to do otherwise)."""
    if len(present) == len(spec.columns):
        return lambda row: row
    slots = [present.index(c) if c in present else None for c in spec.columns]
    defaults = [c.default for c in spec.columns]

    def complete(row: tuple) -> tuple:
        return tuple(row[s] if s is not None else d for s, d in zip(slots, defaults, strict=True))

    return complete


class ErrorReport:
    """Row problems in row order, the first `limit` kept, and how many rows were bad. Each
    problem is {row, column, value, problem, message}: the message says it all in a sentence
    (`第 12 行 total_cost：“1,234.50” 不是有效金额…`)."""

    def __init__(self, limit: int = 1000):
        self.limit = limit
        self.bad_rows = 0
        self.problems = 0  # every problem found, listed or not
        self.errors: list[dict] = []
        self.labels: dict[str, str] = {}

    @property
    def omitted(self) -> int:
        """Problems found beyond the `limit` listed."""
        return max(self.problems - len(self.errors), 0)

    def __bool__(self) -> bool:
        return self.bad_rows > 0

    def entry(self, row: int, column: str, value: str, problem: str) -> dict:
        label = self.labels.get(column, column)
        if column and label != column:
            label = f"{label}（{column}）"
        if column:
            message = _("Row %(row)d, %(column)s: %(problem)s")
        else:
            message = _("Row %(row)d: %(problem)s")
        message %= {"row": row, "column": label, "problem": problem}
        # The value quoted, not the whole cell: a thousand errors stay a short answer.
        return {
            "row": row,
            "column": column,
            "value": shown(value),
            "problem": problem,
            "message": message,
        }

    def add(self, row: int, problems: Problems) -> None:
        self.bad_rows += 1
        self.problems += len(problems)
        for column, value, problem in problems:
            if len(self.errors) < self.limit:
                self.errors.append(self.entry(row, column, value, problem))

    def merge(self, others: list[dict], count: int) -> None:
        """Add problems found later (duplicates found in SQL), keeping row order and the cap."""
        self.bad_rows += count
        self.problems += count
        self.errors = sorted(self.errors + others, key=lambda e: e["row"])[: self.limit]

    def as_list(self) -> list[dict]:
        return list(self.errors)
