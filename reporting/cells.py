"""Reading one cell as clerks' files really hold it: `1,234.50`, `￥1234.5`, `1234.50元`, full-width
digits, dates with a time or as `2019年1月5日`, `20190105` or an Excel serial number. Each problem
says what was found and what is expected."""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import partial

from django.utils.translation import gettext as _

from .choices import VisitType
from .specs import Spec


class Bad(ValueError):
    """One cell's problem, in words for the person who will fix the file."""


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
