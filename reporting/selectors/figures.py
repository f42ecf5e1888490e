"""Which figures the dashboards show and how: the headline, chart and table choices, numbers
formatted, each indicator's definition, and one value with its context (`Figure`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..indicators import INDICATORS, Indicator
from ..models import IndicatorValue

# The figures of the alliance headline, its monthly charts and the office's service figures.
HEADLINE = [
    "beds_per_1000",
    "health_workers_per_1000",
    "bed_utilization_rate",
    "avg_length_of_stay",
    "avg_outpatient_cost",
    "upward_referrals",
    "downward_referrals",
    "upward_referral_rate",
    "downward_referral_share",
    "primary_care_visit_share",
]
TRENDS = ["outpatient_visits", "discharges", "bed_utilization_rate"]
FLOWS = ["upward_referrals", "downward_referrals"]
CENTER_PERFORMANCE = [
    "exam_orders",
    "exam_tat_median_hours",
    "exam_on_time_rate",
    "critical_value_ack_median_minutes",
    "imaging_wait_days_priority",
    "imaging_wait_days_ordinary",
    "sterilization_cycle_pass_rate",
]
REFERRAL_PERFORMANCE = ["referral_response_median_minutes", "referral_rejection_rate"]
# Rates with no national formula (DOMAIN.md §5): their numerator and denominator are stated next
# to the value, not behind a "definition" toggle.
OPEN_DEFINITIONS = {"upward_referral_rate", "downward_referral_share"}
# The paper's Table 1; more columns can be chosen from the institution-level indicators.
TABLE_DEFAULT = ["avg_outpatient_cost", "bed_utilization_rate"]
TABLE_YEARS = 3
# The institution page's monthly charts.
INSTITUTION_TRENDS = [
    "outpatient_visits",
    "avg_outpatient_cost",
    "discharges",
    "bed_utilization_rate",
]

# DOMAIN.md §2: the paper's benchmarks for the alliance's per-1,000 figures.
BENCHMARKS: dict[str, list[tuple[object, Decimal]]] = {
    "beds_per_1000": [
        (gettext_lazy("Shanghai average"), Decimal("6.4")),
        (gettext_lazy("National (OECD figure)"), Decimal("4.2")),
    ],
    "health_workers_per_1000": [(gettext_lazy("Shanghai average"), Decimal("8.8"))],
}

DASH = "—"


def table_indicators() -> list[Indicator]:
    """Indicators with values per institution: the comparison table's choices."""
    return [i for i in INDICATORS.values() if i.institution_scope]


def format_number(number: Decimal | None, decimals: int) -> str:
    """Rounded half up (as the paper rounds), with thousands separators; None is a dash."""
    if number is None:
        return DASH
    return f"{rounded(number, decimals):,}"


def rounded(number: Decimal, decimals: int) -> Decimal:
    return number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _operand(number: Decimal) -> str:
    """A numerator or denominator as computed: whole numbers whole, others to the cent."""
    return format_number(number, 0 if number == number.to_integral_value() else 2)


def definition(indicator: Indicator) -> str:
    """numerator ÷ denominator × factor, in words, from the registry."""
    if indicator.is_median:
        return _("Median of: %(what)s, over: %(cases)s") % {
            "what": indicator.numerator,
            "cases": indicator.denominator,
        }
    text = str(indicator.numerator)
    if indicator.denominator is not None:
        text = f"({text}) ÷ ({indicator.denominator})"
    if indicator.factor != 1:
        text += f" × {indicator.factor:,}"
    return text


@dataclass(frozen=True)
class Figure:
    """One stored value (or its absence) of one indicator, scope and period."""

    indicator: Indicator
    value: Decimal | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    present: bool = False  # False: no value row at all (no data of this kind)
    members: int | None = None  # coverage (an alliance's figure from facts); None: not applicable
    reporting: int | None = None

    @classmethod
    def of(cls, indicator: Indicator, row: IndicatorValue | None) -> Figure:
        if row is None:
            return cls(indicator)
        return cls(
            indicator, row.value, row.numerator, row.denominator, True, row.members, row.reporting
        )

    @property
    def incomplete(self) -> bool:
        """Some member supplied no facts for some month of the period."""
        return self.members is not None and (self.reporting or 0) < self.members

    @property
    def impossible(self) -> bool:
        """A share over 100 %, a utilization over 200 %: never shown as a value."""
        maximum = self.indicator.maximum
        return self.value is not None and maximum is not None and self.value > maximum

    @property
    def comparable(self) -> bool:
        """A value that may stand next to others (a chart, a comparison, a ranking)."""
        return self.value is not None and not self.impossible and not self.incomplete

    @property
    def coverage(self) -> str:
        """'3/5' (members reporting / members), or '' where coverage does not apply."""
        return "" if self.members is None else f"{self.reporting or 0}/{self.members}"

    @property
    def coverage_text(self) -> str:
        if not self.incomplete:
            return ""
        return _("Incomplete data: %(reporting)d/%(members)d institutions") % {
            "reporting": self.reporting or 0,
            "members": self.members,
        }

    @cached_property  # read twice per table cell
    def text(self) -> str:
        if self.impossible:
            return _("impossible value")
        return format_number(self.value, self.indicator.decimals)

    @property
    def number(self) -> int | Decimal | None:
        """The value rounded as shown, for a spreadsheet cell ('165.00' stays 165.00)."""
        if self.value is None or self.impossible:
            return None
        value = rounded(self.value, self.indicator.decimals)
        return int(value) if self.indicator.decimals == 0 else value

    @property
    def chart_value(self) -> float | None:
        if not self.comparable:
            return None
        return float(rounded(self.value, self.indicator.decimals))

    @cached_property  # read twice per table cell
    def note(self) -> str:
        if self.impossible:
            return _(
                "impossible value (over %(maximum)d %%): the facts are incomplete or wrong, "
                "so it is not shown"
            ) % {"maximum": self.indicator.maximum}
        if self.value is not None:
            return self.coverage_text
        if self.present:
            return _("no value (denominator is zero)")
        return _("no data")

    @cached_property  # read twice per table cell
    def computation(self) -> str:
        """The numbers the value was computed from: '171,285 ÷ 1,000' or 'n = 12'."""
        if not self.present:
            return ""
        if self.indicator.is_median:
            return "" if self.denominator is None else f"n = {_operand(self.denominator)}"
        if self.denominator is None or self.numerator is None:
            return ""
        text = f"{_operand(self.numerator)} ÷ {_operand(self.denominator)}"
        if self.indicator.factor != 1:
            text += f" × {self.indicator.factor:,}"
        return text

    @property
    def definition(self) -> str:
        return definition(self.indicator)

    @property
    def open_definition(self) -> bool:
        return self.indicator.key in OPEN_DEFINITIONS

    @property
    def benchmarks(self) -> list[tuple[object, str]]:
        return [(label, f"{number:,}") for label, number in BENCHMARKS.get(self.indicator.key, [])]
