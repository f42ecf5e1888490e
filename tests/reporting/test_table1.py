"""The paper's Table 1, computed from the demo's encounter-level facts through the normal path."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db.models import F

from alliance.demo import load_demo as load_alliance
from alliance.models import Institution
from reporting import demo
from reporting.models import IndicatorValue, InpatientStay, OutpatientVisit
from reporting.services.indicators import recompute

PAPER = {
    "万祥": (("139.62", "161.95", "171.29"), ("94.07", "88.61", "98.67")),
    "泥城": (("144.11", "163.45", "155.16"), ("82.43", "87.82", "55.19")),
    "芦潮港": (("90.11", "106.00", "115.63"), ("87.00", "76.00", "85.00")),
    "书院": (("165.00", "175.00", "182.00"), (None, None, None)),
}


def rounded(value):
    return None if value is None else value.quantize(Decimal("0.01"), ROUND_HALF_UP)


@pytest.fixture
def facts(db):
    load_alliance()
    return demo.load_demo()


def test_table_1_is_reproduced_from_the_facts(facts):
    for year in demo.YEARS:
        recompute(year)
    table = {}
    for name in PAPER:
        institution = Institution.objects.get(short_name=name)
        costs, uses = [], []
        for year in demo.YEARS:
            values = dict(
                IndicatorValue.objects.filter(
                    institution=institution, period=str(year)
                ).values_list("indicator", "value")
            )
            costs.append(str(rounded(values.get("avg_outpatient_cost"))))
            use = rounded(values.get("bed_utilization_rate"))
            uses.append(None if use is None else str(use))
        table[name] = (tuple(costs), tuple(uses))
    assert table == PAPER

    # The lead hospital: about 90 % of its beds used, stays of about 14 days, 2,000–3,000 visits
    # a day; in no month more bed-days occupied than open.
    lead = Institution.objects.get(short_name=demo.LEAD)
    values = dict(
        IndicatorValue.objects.filter(institution=lead, period="2019").values_list(
            "indicator", "value"
        )
    )
    assert 88 <= values["bed_utilization_rate"] <= 93
    assert 12 <= values["avg_length_of_stay"] <= 16
    assert 2000 * 365 <= values["outpatient_visits"] <= 3000 * 365
    months = IndicatorValue.objects.filter(
        indicator="bed_utilization_rate", period_kind="month", period__lt="2020"
    )
    assert months.filter(institution__isnull=False).count() == 4 * 36  # 书院: none
    assert not months.filter(numerator__gt=F("denominator")).exists()


def test_the_table_follows_the_facts_and_loading_twice_changes_nothing(facts):
    counts = (OutpatientVisit.objects.count(), InpatientStay.objects.count())
    demo.load_demo()
    assert (OutpatientVisit.objects.count(), InpatientStay.objects.count()) == counts
    wanxiang = Institution.objects.get(short_name="万祥")
    row = OutpatientVisit.objects.filter(institution=wanxiang, visit_date__year=2019).first()
    row.total_cost += Decimal(10_000)
    row.save()
    recompute(2019)
    value = IndicatorValue.objects.get(
        institution=wanxiang, period="2019", indicator="avg_outpatient_cost"
    ).value
    assert rounded(value) == Decimal("171.29") + rounded(Decimal(10_000) / visits(wanxiang, 2019))


def visits(institution, year):
    return sum(
        OutpatientVisit.objects.filter(institution=institution, visit_date__year=year).values_list(
            "visit_count", flat=True
        )
    )
