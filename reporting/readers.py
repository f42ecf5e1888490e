"""What each kind of fact file holds, and checking it row by row.

A kind is a small table (`Spec`): its columns in template order, each with its cell parser, the
Chinese names hospital exports give it (`ALIASES`), the model fields the row fills and how the
preview sums a month. Cells are read as clerks' files really hold them: `1,234.50`, `￥1234.5`,
`1234.50元`, full-width digits, dates with a time or as `2019年1月5日`, `20190105` or an Excel
serial number. Each problem names the row, the column and the value found, and what is expected.

Opening files (CSV, TSV, XLSX, XLS, ODS) is tables.py; its names are re-exported here.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from operator import call, itemgetter

from django.db import models
from django.utils.translation import gettext as _

from .choices import FactKind, VisitType
from .models import BedCapacity, InpatientStay, OutpatientVisit, ReferralCount
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

# --- what each kind of file holds ------------------------------------------------------------


class Bad(ValueError):
    """One cell's problem, in words for the person who will fix the file."""


@dataclass(frozen=True)
class Column:
    name: str
    parse: str  # name of the cell parser: text, code, date, visit_type, count, beds, cost
    required: bool = True
    default: object = None


@dataclass(frozen=True)
class Spec:
    """One kind of file: its columns (in template order) and the model fields they fill.

    Rows become tuples in column order, the institution's id first and the rest of the
    natural key second; `span` names the columns whose years a row touches (end: None is today).
    The preview sums `amount` (None: counts rows) per institution and month of `month`.
    """

    kind: str
    model: type[models.Model]
    columns: tuple[Column, ...]
    fields: tuple[str, ...]
    span: tuple[int, int | None]
    month: str = ""
    amount: str | None = None
    keys: int = 2  # the natural key: the institution and the next `keys - 1` fields

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def model_fields(self) -> dict[str, models.Field]:
        """The model's fields by column name (institution_id ...), in the spec's order."""
        by_column = {field.column: field for field in self.model._meta.concrete_fields}
        return {name: by_column[name] for name in self.fields}

    @property
    def key_fields(self) -> tuple[str, ...]:
        return self.fields[: self.keys]


def _specs() -> dict[str, Spec]:
    code = Column("institution_code", "code")
    return {
        FactKind.VISITS: Spec(
            FactKind.VISITS,
            OutpatientVisit,
            (
                code,
                Column("record_id", "text"),
                Column("visit_date", "date"),
                Column("visit_type", "visit_type", False, VisitType.OUTPATIENT.value),
                Column("department", "text", False, ""),
                Column("visit_count", "count", False, 1),
                Column("total_cost", "cost"),
            ),
            (
                "institution_id",
                "record_id",
                "visit_date",
                "visit_type",
                "department",
                "visit_count",
                "total_cost",
            ),
            span=(2, 2),
            month="visit_date",
            amount="visit_count",
        ),
        FactKind.STAYS: Spec(
            FactKind.STAYS,
            InpatientStay,
            (
                code,
                Column("stay_id", "text"),
                Column("admit_date", "date"),
                Column("discharge_date", "date", False),
                Column("department", "text", False, ""),
                Column("total_cost", "cost"),
            ),
            (
                "institution_id",
                "stay_id",
                "admit_date",
                "discharge_date",
                "department",
                "total_cost",
            ),
            span=(2, 3),
            month="discharge_date",
        ),
        FactKind.BEDS: Spec(
            FactKind.BEDS,
            BedCapacity,
            (code, Column("effective_from", "date"), Column("open_beds", "beds")),
            ("institution_id", "effective_from", "open_beds"),
            span=(1, None),
            month="effective_from",
            amount="open_beds",
        ),
        # Monthly counts from the hospital's own records, for the months before the platform.
        FactKind.REFERRALS: Spec(
            FactKind.REFERRALS,
            ReferralCount,
            (
                code,
                Column("month", "month"),
                Column("direction", "direction"),
                Column("to_institution_code", "text", False, ""),
                Column("count", "beds"),
            ),
            ("institution_id", "month", "direction", "to_institution_code", "count"),
            span=(1, 1),
            month="month",
            amount="count",
            keys=4,
        ),
    }


SPECS = _specs()

# The names hospital systems (HIS, 病案, 统计报表) give the columns, best first: a file naming
# two of them keeps the better one and ignores the other (with a warning). Compared after
# normalize_name: full-width folded, spaces and a unit in brackets dropped, lower case.
ALIASES: dict[str, tuple[str, ...]] = {
    "institution_code": (
        "机构编码",
        "机构代码",
        "医疗机构编码",
        "医疗机构代码",
        "机构编号",
        "组织机构代码",
        "单位编码",
        "医院编码",
        "code",
    ),
    "record_id": (
        "就诊流水号",
        "门诊号",
        "门诊流水号",
        "就诊号",
        "就诊编号",
        "挂号流水号",
        "流水号",
        "就诊id",
    ),
    "visit_date": ("就诊日期", "就诊时间", "门诊日期", "挂号日期", "看诊日期", "日期"),
    "visit_type": ("就诊类型", "门急诊类型", "门诊类型", "门急诊", "类型"),
    "department": ("科室", "就诊科室", "科室名称", "门诊科室", "出院科室", "住院科室"),
    "visit_count": ("人次", "就诊人次", "门急诊人次", "门诊人次", "次数"),
    "total_cost": ("总费用", "医疗总费用", "费用合计", "总金额", "费用", "金额"),
    "stay_id": ("住院号", "住院流水号", "住院编号", "住院就诊号", "病案号"),
    "admit_date": ("入院日期", "入院时间"),
    "discharge_date": ("出院日期", "出院时间"),
    "effective_from": ("生效日期", "启用日期", "起始日期", "开始日期", "日期"),
    "open_beds": ("开放床位数", "实际开放床位数", "实际开放床位", "开放床位", "床位数"),
    "month": ("月份", "统计月份", "年月", "转诊月份"),
    "direction": ("转诊方向", "方向", "转诊类型"),
    "to_institution_code": ("接收机构编码", "转入机构编码", "接诊机构编码", "目标机构编码"),
    "count": ("转诊人次", "人次", "例数", "数量"),
}
DIRECTIONS = {
    "up": "up",
    "upward": "up",
    "上转": "up",
    "向上转诊": "up",
    "上": "up",
    "down": "down",
    "downward": "down",
    "下转": "down",
    "向下转诊": "down",
    "下": "down",
}
MONTH = re.compile(r"(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))")

VISIT_TYPES = {
    "outpatient": VisitType.OUTPATIENT.value,
    "门诊": VisitType.OUTPATIENT.value,
    "普通门诊": VisitType.OUTPATIENT.value,
    "专家门诊": VisitType.OUTPATIENT.value,
    "专科门诊": VisitType.OUTPATIENT.value,
    "门诊部": VisitType.OUTPATIENT.value,
    "emergency": VisitType.EMERGENCY.value,
    "急诊": VisitType.EMERGENCY.value,
    "急诊科": VisitType.EMERGENCY.value,
    "急诊部": VisitType.EMERGENCY.value,
}
TOTAL_ROW = re.compile(r"(?:合\s*计|总\s*计|小\s*计|(?:total|sum)\b)", re.IGNORECASE)
UNIT_SUFFIX = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]$")
DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
EXCEL_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")  # 10000 is 1927-05-18, 99999 is 2173
EXCEL_EPOCH = datetime.date(1899, 12, 30)  # Excel's day 0, its 1900 leap-year bug included
NUMBER = re.compile(r"[+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|[+]?\.\d+")
CURRENCY = re.compile(r"^(?:¥|rmb|cny)|(?:元|rmb|cny)$", re.IGNORECASE)
PLAIN_AMOUNT = re.compile(r"(?:0|[1-9]\d{0,11})(?:\.\d{1,2})?")
GROUPED_AMOUNT = re.compile(r"[1-9]\d{0,2}(?:,\d{3}){1,3}(?:\.\d{1,2})?")
SMALL_NUMBERS = {str(n): n for n in range(10_000)}  # open beds: 0 or more
COUNTS = {text: n for text, n in SMALL_NUMBERS.items() if n >= 1}  # visits: at least 1
CENT = Decimal("0.01")
MAX_COST = Decimal(10) ** 12  # DecimalField(max_digits=14, decimal_places=2)
MAX_INT = 2**31 - 1
MEMO_SIZE = 20_000  # distinct cells remembered per column (dates, departments): bounded
SHOWN_VALUE = 40  # characters of a bad value quoted in its message


def normalize_name(name: str) -> str:
    """A header cell as compared with the column names: 'Visit_Date ', '总费用（元）' → ..."""
    name = unicodedata.normalize("NFKC", name).replace("\ufeff", "")
    name = UNIT_SUFFIX.sub("", "".join(name.split())).strip().lower()
    return name


def _alias_table(spec: Spec) -> dict[str, tuple[str, int]]:
    """Normalized name → (column, rank); the column's own name ranks first."""
    table: dict[str, tuple[str, int]] = {}
    for column in spec.columns:
        for rank, alias in enumerate((column.name, *ALIASES.get(column.name, ()))):
            table.setdefault(normalize_name(alias), (column.name, rank))
    return table


ALIAS_TABLES = {kind: _alias_table(spec) for kind, spec in SPECS.items()}


def clean(value: str) -> str:
    """A cell's text with full-width characters folded (１２３ → 123) and outer spaces gone."""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value).replace("\u3000", " ")
    return value.strip()


def messages() -> dict[str, str]:
    """The cell problems in the active language, translated once per file, not once per cell.
    Each says what was found (%(value)s) and what is expected."""
    return {
        "required": _("the cell is empty; a value is required."),
        "too_long": _("“%(value)s” is too long: at most %(n)d characters."),
        "nul": _("“%(value)s” contains a NUL character: write plain text."),
        "code": _(
            "“%(value)s” is not the code of an institution you may import for: write "
            "the code as the directory lists it."
        ),
        "date": _(
            "“%(value)s” is not a valid date: write a date such as 2019-01-05, "
            "2019/1/5 or 2019年1月5日."
        ),
        "future": _("“%(value)s” is in the future: write a date up to today."),
        "visit_type": _(
            "“%(value)s” is not a visit type: write 门诊 (outpatient) or 急诊 (emergency)."
        ),
        "whole": _("“%(value)s” is not a valid count: write a whole number of at least %(least)d."),
        "amount": _(
            "“%(value)s” is not a valid amount: write yuan with at most two decimals, "
            "such as 1234.50."
        ),
        "decimals": _(
            "“%(value)s” has more than two decimals: write yuan to the fen, such as 1234.50."
        ),
        "negative": _("“%(value)s” is negative: the cost is 0 or more."),
        "too_large": _("“%(value)s” is too large: the cost is below 1,000,000,000,000 yuan."),
        "order": _(
            "“%(value)s” is before the admission date %(admit)s: the discharge is on or after it."
        ),
        "month": _("“%(value)s” is not a valid month: write a month such as 2019-01 or 2019年1月."),
        "direction": _("“%(value)s” is not a direction: write 上转 (up) or 下转 (down)."),
        "duplicate": _(
            "“%(value)s” appears again: row %(row)d has the same institution and %(column)s."
        ),
    }


def shown(value: str) -> str:
    return value if len(value) <= SHOWN_VALUE else value[: SHOWN_VALUE - 1] + "…"


def cell_parsers(
    codes: dict[str, int], today: datetime.date, say: dict[str, str]
) -> dict[str, Callable]:
    """Cell parsers: each takes a non-empty string, returns the value or raises Bad(words)."""
    fromisoformat = datetime.date.fromisoformat

    def code(value: str) -> int:
        pk = codes.get(value)
        if pk is None:
            pk = codes.get(clean(value).upper())
            if pk is None:
                raise Bad(say["code"] % {"value": shown(value.strip())})
        return pk

    def text(value: str, max_length: int = 64) -> str:
        value = value.strip()  # kept as written (（胸痛中心） stays full-width), only trimmed
        if not value:
            raise Bad(say["required"])
        if len(value) > max_length:
            raise Bad(say["too_long"] % {"value": shown(value), "n": max_length})
        if "\x00" in value:  # PostgreSQL text cannot hold it
            raise Bad(say["nul"] % {"value": shown(value.replace("\x00", "␀"))})
        return value

    def date(value: str) -> datetime.date:
        value = clean(value)
        try:
            day = fromisoformat(value)
        except ValueError:
            day = _loose_date(value)
            if day is None:
                raise Bad(say["date"] % {"value": shown(value)}) from None
        if day > today:
            raise Bad(say["future"] % {"value": shown(value)})
        return day

    def visit_type(value: str) -> str:
        try:
            return VISIT_TYPES[clean(value).lower()]
        except KeyError:
            raise Bad(say["visit_type"] % {"value": shown(value.strip())}) from None

    def whole(value: str, least: int) -> int:
        number = _number(value)
        if number is None or number != number.to_integral_value():
            raise Bad(say["whole"] % {"value": shown(value.strip()), "least": least})
        if not least <= number <= MAX_INT:
            raise Bad(say["whole"] % {"value": shown(value.strip()), "least": least})
        return int(number)

    def cost(value: str) -> Decimal:
        amount = _number(value, money=True)
        found = {"value": shown(value.strip())}
        if amount is None:
            raise Bad(say["amount"] % found)
        cents = amount.quantize(CENT)
        if cents != amount:
            raise Bad(say["decimals"] % found)
        if cents < 0:
            raise Bad(say["negative"] % found)
        if cents >= MAX_COST:
            raise Bad(say["too_large"] % found)
        return cents

    def month(value: str) -> datetime.date:
        """2019-01, 2019/1, 2019年1月, 201901, or a date in the month: its first day."""
        value = clean(value)
        found = MONTH.fullmatch(value)
        try:
            if found:
                first = datetime.date(int(found[1]), int(found[2] or found[3]), 1)
            else:
                first = date(value).replace(day=1)
        except (ValueError, Bad):
            raise Bad(say["month"] % {"value": shown(value)}) from None
        if first > today:
            raise Bad(say["future"] % {"value": shown(value)})
        return first

    def direction(value: str) -> str:
        try:
            return DIRECTIONS[clean(value).lower()]
        except KeyError:
            raise Bad(say["direction"] % {"value": shown(value.strip())}) from None

    return {
        "month": month,
        "direction": direction,
        "code": code,
        "text": text,
        "date": date,
        "visit_type": visit_type,
        "cost": cost,
        "count": partial(whole, least=1),
        "beds": partial(whole, least=0),
    }


def _loose_date(value: str) -> datetime.date | None:
    """2019-01-05 00:00:00, 2019/3/10 0:00:00, 2019年1月5日, 2019.1.5, 20190105, 43470."""
    try:
        if found := DATE.fullmatch(value):
            return datetime.date(*map(int, found.groups()))
        if found := COMPACT_DATE.fullmatch(value):
            return datetime.date(*map(int, found.groups()))
        if EXCEL_SERIAL.fullmatch(value):  # a date cell written into CSV as its number
            return EXCEL_EPOCH + datetime.timedelta(days=int(float(value)))
    except (ValueError, OverflowError):
        return None
    return None


def _number(value: str, money: bool = False) -> Decimal | None:
    """The number a cell holds, as clerks write it: 1,234.50 · ￥1,234.50 · 1234.50元 ·
    １２３４ · '1 234'; a minus sign is kept (so a negative cost is said as such)."""
    value = "".join(clean(value).split())
    if money:
        value = CURRENCY.sub("", CURRENCY.sub("", value))
    negative = value.startswith("-")
    if negative:
        value = value[1:]
    if not NUMBER.fullmatch(value):
        return None
    try:
        number = Decimal(value.replace(",", "").lstrip("+"))
    except InvalidOperation:
        return None
    return -number if negative else number


def fast_parsers(spec: Spec, codes: dict[str, int], slow: dict[str, Callable]) -> list[Callable]:
    """One strict converter per column for the fast path: each raises on anything unusual.

    They take the common shapes at C speed (an exact code, a small whole number, a plain or
    thousands-grouped amount kept as text, a date or department seen before); the slow parsers
    do the rest.
    """

    def amount(value: str) -> str:
        if PLAIN_AMOUNT.fullmatch(value) is not None:
            return value  # already what the database reads: no Decimal needed
        if GROUPED_AMOUNT.fullmatch(value) is not None:
            return value.replace(",", "")
        raise ValueError(value)

    fast = {
        "code": codes.__getitem__,
        "cost": amount,
        "count": {**COUNTS, "": 1}.__getitem__,
        "beds": SMALL_NUMBERS.__getitem__,
        "visit_type": {"": VisitType.OUTPATIENT.value, **VISIT_TYPES}.__getitem__,
    }
    converters = []
    for column in spec.columns:
        parser = fast.get(column.parse)
        if parser is None:
            parser = slow[column.parse]
            if not column.required:
                parser = _or_default(parser, column.default)
            if column.parse == "date" or not column.required:  # few distinct values
                parser = _memo(parser)
        converters.append(parser)
    return converters


_MISSING = object()


def _memo(parser: Callable, size: int = MEMO_SIZE) -> Callable:
    """The parser, remembering up to `size` answers (dates, departments repeat all the time)."""
    cache: dict[str, object] = {}
    get = cache.get

    def parse(value: str):
        result = get(value, _MISSING)
        if result is _MISSING:
            result = parser(value)
            if len(cache) < size:
                cache[value] = result
        return result

    return parse


def _or_default(parser: Callable, default) -> Callable:
    def parse(value: str):
        return parser(value) if value else default

    return parse


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
