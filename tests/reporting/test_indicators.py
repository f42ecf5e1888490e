"""Every formula against hand-computed cases (DOMAIN.md §5 counting conventions)."""

import datetime
from decimal import Decimal

import pytest

from reporting.models import BedCapacity, IndicatorValue, InpatientStay, OutpatientVisit
from reporting.services.indicators import recompute
from reporting.services.periods import parse_period, periods_of
from tests.kit.factories import (
    AllianceFactory,
    HospitalFactory,
    InstitutionFactory,
    MembershipFactory,
)

D = datetime.date
TODAY = D(2026, 11, 23)


def value(indicator, period, institution=None, alliance=None):
    row = IndicatorValue.objects.get(
        indicator=indicator, period=period, institution=institution, alliance=alliance
    )
    return row.value


def stay(institution, n, admit, discharge, cost="0"):
    return InpatientStay.objects.create(
        institution=institution,
        stay_id=f"S{n}",
        admit_date=admit,
        discharge_date=discharge,
        total_cost=Decimal(cost),
    )


def visit(institution, n, day, count, cost, kind="outpatient"):
    return OutpatientVisit.objects.create(
        institution=institution,
        record_id=f"V{n}",
        visit_date=day,
        visit_type=kind,
        visit_count=count,
        total_cost=Decimal(cost),
    )


@pytest.fixture
def ward(db):
    """10 beds from 1 January 2019, 20 from 16 January; four stays around January."""
    center = InstitutionFactory(population_served=40000, health_technical_staff=60)
    BedCapacity.objects.create(institution=center, effective_from=D(2019, 1, 1), open_beds=10)
    BedCapacity.objects.create(institution=center, effective_from=D(2019, 1, 16), open_beds=20)
    stay(center, 1, D(2018, 12, 30), D(2019, 1, 3), "1000")  # 2 nights in January, 4 in all
    stay(center, 2, D(2019, 1, 10), D(2019, 1, 10), "200")  # same day: 1 bed-day
    stay(center, 3, D(2019, 1, 31), D(2019, 2, 2), "500")  # 1 night in January, 1 in February
    stay(center, 4, D(2019, 1, 20), None)  # still in hospital: 12 nights in January
    return center


def test_periods_and_their_keys():
    keys = [p.key for p in periods_of(2019, TODAY)]
    assert keys[:6] == ["2019", "2019-Q1", "2019-Q2", "2019-Q3", "2019-Q4", "2019-01"]
    assert len(keys) == 17
    assert [p.key for p in periods_of(2026, D(2026, 2, 10))] == [
        "2026",
        "2026-Q1",
        "2026-01",
        "2026-02",
    ]
    assert parse_period("2019-q3").start == D(2019, 7, 1)
    assert parse_period("2019-13") is None and parse_period("20x9") is None


def test_bed_days_split_by_month_with_same_day_and_open_stays(ward):
    recompute(2019, today=TODAY)
    # January: open bed-days 15 × 10 + 16 × 20 = 470; occupied 2 + 1 + 1 + 12 = 16.
    row = IndicatorValue.objects.get(
        indicator="bed_utilization_rate", period="2019-01", institution=ward
    )
    assert (row.numerator, row.denominator) == (16, 470)
    assert row.value == Decimal("3.404255")
    # February: 1 (stay 3) + 28 (open stay) over 28 × 20 beds.
    assert value("bed_utilization_rate", "2019-02", ward) == Decimal("5.178571")  # 2,900 ÷ 560
    # The year: stay 1 gives 2, stay 2 1, stay 3 2, the open stay 346 (20 January–31 December).
    row = IndicatorValue.objects.get(
        indicator="bed_utilization_rate", period="2019", institution=ward
    )
    assert row.numerator == 351
    assert row.denominator == 150 + 350 * 20


def test_length_of_stay_counts_whole_stays_of_the_discharged(ward):
    recompute(2019, today=TODAY)
    # January discharges: stay 1 (4 days, 2 of them in 2018) and stay 2 (same day: 1).
    row = IndicatorValue.objects.get(
        indicator="avg_length_of_stay", period="2019-01", institution=ward
    )
    assert (row.numerator, row.denominator, row.value) == (5, 2, Decimal("2.5"))
    assert value("avg_inpatient_cost", "2019-01", ward) == Decimal(600)
    assert value("discharges", "2019-Q1", ward) == 3
    # Turnover: 2 discharges ÷ (470 open bed-days ÷ 31 days).
    assert value("bed_turnover", "2019-01", ward) == (Decimal(2) / (Decimal(470) / 31)).quantize(
        Decimal("0.000001")
    )


def test_an_open_stay_counts_up_to_today_in_the_current_period(ward):
    recompute(2019, today=D(2019, 1, 25))
    row = IndicatorValue.objects.get(
        indicator="bed_utilization_rate", period="2019-01", institution=ward
    )
    # Open stay: 20–25 January = 6; beds: 15 × 10 + 10 × 20 (16–25 January).
    assert (row.numerator, row.denominator) == (2 + 1 + 6, 350)
    assert not IndicatorValue.objects.filter(period="2019-02").exists()


def test_zero_denominator_gives_no_value_not_zero(ward):
    recompute(2019, today=TODAY)
    # No discharges in March: no average stay, but zero discharges is a count.
    assert value("avg_length_of_stay", "2019-03", ward) is None
    assert value("discharges", "2019-03", ward) == 0
    # No visits were imported: no outpatient figures at all.
    assert not IndicatorValue.objects.filter(indicator="avg_outpatient_cost").exists()


def test_an_institution_without_beds_has_no_bed_figures(db):
    center = InstitutionFactory()
    visit(center, 1, D(2019, 3, 1), 10, "1650.00")
    recompute(2019, today=TODAY)
    assert value("avg_outpatient_cost", "2019", center) == Decimal(165)
    assert not IndicatorValue.objects.filter(
        institution=center, indicator="bed_utilization_rate"
    ).exists()


def test_outpatient_cost_counts_emergency_visits_and_daily_totals(db):
    center = InstitutionFactory()
    visit(center, 1, D(2019, 3, 1), 40, "4000.00")
    visit(center, 2, D(2019, 3, 1), 1, "300.00", kind="emergency")
    visit(center, 3, D(2019, 4, 2), 9, "1000.00")
    recompute(2019, today=TODAY)
    row = IndicatorValue.objects.get(
        indicator="avg_outpatient_cost", period="2019", institution=center
    )
    assert (row.numerator, row.denominator) == (5300, 50)
    assert value("outpatient_visits", "2019-Q1", center) == 41
    assert value("avg_outpatient_cost", "2019-04", center) == Decimal("111.111111")


def test_capacity_change_mid_period_and_beds_per_thousand(ward):
    recompute(2019, today=TODAY)
    # Beds on 31 January: 20, for 40,000 residents.
    assert value("beds_per_1000", "2019-01", ward) == Decimal("0.5")
    assert value("health_workers_per_1000", "2019", ward) == Decimal("1.5")


def test_alliance_value_is_the_ratio_of_sums_not_the_average_of_ratios(db):
    hospital = HospitalFactory(population_served=None)
    small, large = InstitutionFactory(), InstitutionFactory()
    alliance = AllianceFactory(lead_institution=hospital)
    for member in (hospital, small, large):
        MembershipFactory(alliance=alliance, institution=member, joined_on=D(2015, 1, 1))
    visit(small, 1, D(2019, 5, 1), 1, "100.00")  # 100 per visit
    visit(large, 2, D(2019, 5, 1), 99, "19800.00")  # 200 per visit
    visit(hospital, 3, D(2019, 5, 1), 100, "40000.00")
    recompute(2019, today=TODAY)
    # (100 + 19,800) ÷ 100 = 199 for the two centers; with the hospital 59,900 ÷ 200.
    assert value("avg_outpatient_cost", "2019", alliance=alliance) == Decimal("299.5")
    assert value("primary_care_visit_share", "2019-05", alliance=alliance) == Decimal(50)
    assert not IndicatorValue.objects.filter(
        indicator="primary_care_visit_share", institution__isnull=False
    ).exists()


def test_recompute_is_idempotent_and_follows_the_facts(ward):
    first = recompute(2019, today=TODAY)
    before = set(IndicatorValue.objects.values_list("indicator", "period", "value"))
    assert recompute(2019, today=TODAY) == first
    assert set(IndicatorValue.objects.values_list("indicator", "period", "value")) == before
    InpatientStay.objects.filter(stay_id="S4").update(discharge_date=D(2019, 1, 21))
    recompute(2019, today=TODAY)
    assert (
        IndicatorValue.objects.get(
            indicator="bed_utilization_rate", period="2019", institution=ward
        ).numerator
        == 2 + 1 + 2 + 1
    )


def test_beds_without_any_stay_in_the_year_are_missing_data_not_an_empty_ward(ward):
    InpatientStay.objects.filter(stay_id="S4").delete()  # the one stay reaching into 2020
    recompute(2020, today=TODAY)  # the capacity records still hold in 2020; no stay was imported
    assert not IndicatorValue.objects.filter(
        institution=ward,
        period__startswith="2020",
        indicator__in=["bed_utilization_rate", "bed_turnover", "discharges", "avg_length_of_stay"],
    ).exists()
    assert value("beds_per_1000", "2020", ward) == Decimal("0.5")
