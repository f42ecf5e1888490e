"""The row check's fast path (strict converters at C speed) never accepts what the slow path,
which alone words problems, would refuse, and reads every value it accepts the same way."""

import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from reporting.cells import cell_parsers, fast_parsers, messages
from reporting.specs import SPECS

SPEC = SPECS["visits"]
CODES = {"LG-01": 1, "LG-02": 2}
TODAY = datetime.date(2026, 12, 3)
SLOW = cell_parsers(CODES, TODAY, messages())
FAST = dict(zip(SPEC.column_names, fast_parsers(SPEC, CODES, SLOW), strict=True))
CELLS = st.text(alphabet="0123456789,.-+ ¥元１，", max_size=20)


def agree(column: str, parse: str, value: str) -> None:
    try:
        fast = FAST[column](value)
    except Exception:  # noqa: BLE001 - refused by the fast path: the slow path decides
        return
    slow = SLOW[parse](value) if value else fast
    if parse == "cost":
        assert Decimal(fast) == slow, value
    else:
        assert fast == slow, value


@settings(max_examples=400, deadline=None)
@given(CELLS)
def test_amounts_the_fast_path_takes_are_the_slow_paths(value):
    agree("total_cost", "cost", value)


@settings(max_examples=400, deadline=None)
@given(CELLS)
def test_counts_the_fast_path_takes_are_the_slow_paths(value):
    agree("visit_count", "count", value)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["", "门诊", "急诊", "普通门诊", "急诊科", "outpatient", "x", " 门诊"]))
def test_visit_types_the_fast_path_takes_are_the_slow_paths(value):
    agree("visit_type", "visit_type", value)


def test_a_grouped_amount_at_the_limit_is_still_below_the_largest_cost():
    assert FAST["total_cost"]("999,999,999,999.99") == "999999999999.99"
    assert SLOW["cost"]("999,999,999,999.99") == Decimal("999999999999.99")
