"""The indicators the platform computes, each with its definition (as DHIS2 defines them).

A value is numerator ÷ denominator × factor, computed from summed components (so an alliance's
value is the ratio of its members' sums, never an average of their ratios); a zero denominator
gives no value. Medians cannot be summed: they are computed per period and scope in SQL.
The counting conventions are those of DOMAIN.md §5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Components = dict[str, Decimal]
ZERO = Decimal(0)


@dataclass(frozen=True)
class Indicator:
    key: str
    name: Promise
    unit: Promise
    numerator: Promise
    denominator: Promise | None
    source: Promise
    factor: int = 1
    decimals: int = 2
    # (numerator, denominator) from the period's summed components; None: a median.
    parts: Callable[[Components], tuple[Decimal, Decimal | None]] | None = None
    institution_scope: bool = True
    # What the scope must have in the year for a value to be stored at all: in every group, one
    # of its components. Beds but no stay imported is missing data, not an empty ward; a year
    # before the platform recorded referrals has no referral rate. Empty: the parts' components.
    needs: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    # The largest value that can be true (a share: 100 %; utilization: 200 %, extra beds
    # included); a larger one comes from incomplete or wrong facts and is never shown.
    maximum: int | None = None

    @property
    def is_median(self) -> bool:
        return self.parts is None

    @property
    def uses_facts(self) -> bool:
        """Computed from imported facts: an alliance's value has a coverage."""
        return any(name in FACT_COMPONENTS for group in self.needs for name in group)


def _ratio(numerator: str, denominator: str):
    return lambda c: (c.get(numerator, ZERO), c.get(denominator, ZERO))


def _count(numerator: str):
    return lambda c: (c.get(numerator, ZERO), None)


def _per_average_beds(c: Components) -> tuple[Decimal, Decimal]:
    days = c.get("days", ZERO)
    average_beds = c.get("open_bed_days", ZERO) / days if days else ZERO
    return c.get("discharges", ZERO), average_beds


STAYS = ("occupied_bed_days", "discharges")  # any stay in the year
FACT_COMPONENTS = {"visits", "primary_visits", "hospital_discharges", "open_bed_days", *STAYS}
REFERRALS_RECORDED = ("referrals_sent", "referrals_received", "imported_referrals")

FACTS = _("Imported facts (hospital information systems)")
REFERRALS = _("Referrals on the platform")
REFERRAL_COUNTS = _(
    "Referrals on the platform; for an institution and month without any, the counts its own "
    "system exported (imported referral counts)"
)
ORDERS = _("Shared-center orders on the platform")
CYCLES = _("Sterilization cycles on the platform")
INSTITUTIONS = _("Institution register")

INDICATORS: dict[str, Indicator] = {
    i.key: i
    for i in [
        Indicator(
            "bed_utilization_rate",
            _("Bed utilization rate"),
            _("%"),
            _(
                "Occupied bed-days (nightly census: each day d with admission ≤ d < discharge; "
                "a same-day stay counts 1)"
            ),
            _("Open bed-days (beds open each day of the period)"),
            FACTS,
            factor=100,
            parts=_ratio("occupied_bed_days", "open_bed_days"),
            needs=(("open_bed_days",), STAYS),
            maximum=200,
        ),
        Indicator(
            "avg_length_of_stay",
            _("Average length of stay"),
            _("days"),
            _("Bed-days of the patients discharged in the period (whole stay, at least 1 day)"),
            _("Discharges"),
            FACTS,
            parts=_ratio("discharged_bed_days", "discharges"),
            needs=(STAYS,),
        ),
        Indicator(
            "bed_turnover",
            _("Bed turnover"),
            _("times"),
            _("Discharges"),
            _("Average open beds (open bed-days ÷ days in the period)"),
            FACTS,
            parts=_per_average_beds,
            needs=(("open_bed_days",), STAYS),
        ),
        Indicator(
            "discharges",
            _("Discharges"),
            _("persons"),
            _("Stays with a discharge date in the period"),
            None,
            FACTS,
            decimals=0,
            parts=_count("discharges"),
            needs=(STAYS,),
        ),
        Indicator(
            "avg_inpatient_cost",
            _("Inpatient cost per discharge"),
            _("yuan"),
            _("Total cost of the stays discharged in the period"),
            _("Discharges"),
            FACTS,
            parts=_ratio("inpatient_cost", "discharges"),
            needs=(STAYS,),
        ),
        Indicator(
            "outpatient_visits",
            _("Outpatient and emergency visits"),
            _("visits"),
            _("Outpatient and emergency visits in the period"),
            None,
            FACTS,
            decimals=0,
            parts=_count("visits"),
            needs=(("visits",),),
        ),
        Indicator(
            "avg_outpatient_cost",
            _("Outpatient cost per visit"),
            _("yuan"),
            _("Outpatient and emergency revenue"),
            _("Outpatient and emergency visits"),
            FACTS,
            parts=_ratio("outpatient_cost", "visits"),
            needs=(("visits",),),
        ),
        Indicator(
            "beds_per_1000",
            _("Beds per 1,000 residents"),
            _("beds"),
            _("Open beds on the last day of the period"),
            _("Resident population served"),
            INSTITUTIONS,
            factor=1000,
            parts=_ratio("beds_at_end", "population"),
            needs=(("open_bed_days",),),
        ),
        Indicator(
            "health_workers_per_1000",
            _("Health workers per 1,000 residents"),
            _("persons"),
            _("Health technical staff"),
            _("Resident population served"),
            INSTITUTIONS,
            factor=1000,
            parts=_ratio("health_workers", "population"),
            needs=(("population",),),
        ),
        Indicator(
            "primary_care_visit_share",
            _("Primary-care share of visits"),
            _("%"),
            _("Visits at primary institutions"),
            _("All visits of the alliance"),
            FACTS,
            factor=100,
            parts=_ratio("primary_visits", "visits"),
            institution_scope=False,
            needs=(("visits",),),
            maximum=100,
        ),
        Indicator(
            "upward_referrals",
            _("Upward referrals"),
            _("referrals"),
            _("Upward referrals sent, by submission date (drafts and cancelled ones excluded)"),
            None,
            REFERRAL_COUNTS,
            decimals=0,
            parts=_count("upward_referrals"),
        ),
        Indicator(
            "downward_referrals",
            _("Downward referrals"),
            _("referrals"),
            _("Downward referrals sent, by submission date (drafts and cancelled ones excluded)"),
            None,
            REFERRAL_COUNTS,
            decimals=0,
            parts=_count("downward_referrals"),
        ),
        Indicator(
            "upward_referral_rate",
            _("Upward referral rate"),
            _("%"),
            _("Upward referrals sent by primary institutions"),
            _("Their outpatient and emergency visits"),
            REFERRAL_COUNTS,
            factor=100,
            parts=_ratio("primary_upward_referrals", "primary_visits"),
            needs=(("primary_visits",), REFERRALS_RECORDED),
            maximum=100,
        ),
        Indicator(
            "downward_referral_share",
            _("Downward referral share"),
            _("%"),
            _("Downward referrals sent by hospitals"),
            _("Their discharges"),
            REFERRAL_COUNTS,
            factor=100,
            parts=_ratio("hospital_downward_referrals", "hospital_discharges"),
            needs=(("hospital_discharges",), REFERRALS_RECORDED),
            maximum=100,
        ),
        Indicator(
            "referral_response_median_minutes",
            _("Referral response time (median)"),
            _("minutes"),
            _("Minutes from submission to the receiver's answer"),
            _("Answered referrals received, by submission date"),
            REFERRALS,
            decimals=0,
        ),
        Indicator(
            "referral_rejection_rate",
            _("Referral rejection rate"),
            _("%"),
            _("Referrals received and rejected"),
            _("Referrals received and answered (accepted or rejected)"),
            REFERRALS,
            factor=100,
            parts=_ratio("referrals_rejected", "referrals_answered"),
            maximum=100,
        ),
        Indicator(
            "exam_orders",
            _("Shared-center exam orders"),
            _("orders"),
            _("Lab, imaging and ECG orders placed (cancelled ones excluded)"),
            None,
            ORDERS,
            decimals=0,
            parts=_count("exam_orders"),
        ),
        Indicator(
            "exam_tat_median_hours",
            _("Exam turnaround (median)"),
            _("hours"),
            _("Hours from order to report"),
            _("Orders reported in the period"),
            ORDERS,
            decimals=1,
        ),
        Indicator(
            "exam_on_time_rate",
            _("Exams reported on time"),
            _("%"),
            _("Orders reported within their items' target turnaround"),
            _("Orders reported in the period"),
            ORDERS,
            factor=100,
            parts=_ratio("exams_on_time", "exams_reported"),
            maximum=100,
        ),
        Indicator(
            "critical_value_ack_median_minutes",
            _("Critical value acknowledgement (median)"),
            _("minutes"),
            _("Minutes from the critical report to its acknowledgement"),
            _("Critical values acknowledged, by report date"),
            ORDERS,
            decimals=0,
        ),
        Indicator(
            "imaging_wait_days_priority",
            _("Imaging wait, green channel"),
            _("days"),
            _("Days from order to appointment, summed over green-channel imaging orders"),
            _("Green-channel imaging orders booked"),
            ORDERS,
            decimals=1,
            parts=_ratio("priority_wait_days", "priority_waits"),
        ),
        Indicator(
            "imaging_wait_days_ordinary",
            _("Imaging wait, ordinary"),
            _("days"),
            _("Days from order to appointment, summed over ordinary imaging orders"),
            _("Ordinary imaging orders booked"),
            ORDERS,
            decimals=1,
            parts=_ratio("ordinary_wait_days", "ordinary_waits"),
        ),
        Indicator(
            "sterilization_cycle_pass_rate",
            _("Sterilization cycle pass rate"),
            _("%"),
            _("Cycles with every indicator passed"),
            _("Cycles with their indicators recorded"),
            CYCLES,
            factor=100,
            parts=_ratio("cycles_passed", "cycles_tested"),
            maximum=100,
        ),
    ]
}


def get(key: str) -> Indicator:
    return INDICATORS[key]
