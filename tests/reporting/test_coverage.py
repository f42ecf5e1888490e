"""Figures the bureau can trust: an alliance's figure knows which members supplied facts for
each month of its period; one from incomplete coverage says so and stays out of comparisons;
an impossible rate is never shown as a value; the dashboard opens on the latest complete year.
"""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from referrals.models import Referral
from reporting.indicators import INDICATORS
from reporting.models import IndicatorValue, OutpatientVisit
from reporting.selectors import Figure
from reporting.services.imports import import_facts
from reporting.services.indicators import recompute
from tests.referrals.conftest import make_referral  # noqa: F401 - fixture
from tests.reporting.conftest import csv_file, visit

THIS_YEAR = timezone.localdate().year
DASHBOARD = "/reporting/"


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def referrals_up(make_referral, n: int) -> None:  # noqa: F811
    """n upward referrals submitted today by the world's centre (one through the services,
    the others copies of it)."""
    first = make_referral("submitted")
    first.submitted_at = timezone.now()
    first.status = "submitted"
    first.save()
    copies = []
    for number in range(1, n):
        first.pk, first.number = None, f"COPY{number:06d}"
        first.idempotency_key = f"copy-{number}"
        copies.append(
            Referral(
                **{f.attname: getattr(first, f.attname) for f in Referral._meta.concrete_fields}
            )
        )
    Referral.objects.bulk_create(copies)


def full_year(institution, year: int, count: int = 10) -> None:
    """A visit on the first of every month: the institution supplied facts all year."""
    OutpatientVisit.objects.bulk_create(
        OutpatientVisit(
            institution=institution,
            record_id=f"Y{year}-{m:02d}",
            visit_date=datetime.date(year, m, 1),
            visit_count=count,
            total_cost=Decimal("1000.00"),
        )
        for m in range(1, 13)
    )


@pytest.mark.django_db
def test_a_two_row_import_for_one_member_shows_no_780_percent_upward_rate(
    world,
    bureau_viewer,
    make_referral,  # noqa: F811
):
    referrals_up(make_referral, 117)
    rows = [
        visit(world["center"], "V1", visit_date=f"{THIS_YEAR}-01-05", visit_count="7"),
        visit(world["center"], "V2", visit_date=f"{THIS_YEAR}-01-06", visit_count="8"),
    ]
    import_facts(kind="visits", file=csv_file("visits", rows), actor=None)
    recompute(THIS_YEAR)

    stored = IndicatorValue.objects.get(
        indicator="upward_referral_rate", alliance=world["alliance"], period=str(THIS_YEAR)
    )
    assert (stored.numerator, stored.denominator, stored.value) == (117, 15, 780)
    assert (stored.members, stored.reporting) == (3, 0)  # nobody sent every month

    response = logged_in(bureau_viewer).get(DASHBOARD, {"year": THIS_YEAR})
    page = response.content.decode()
    assert "780" not in page.replace("117 ÷ 15 × 100", "")
    figure = next(
        f
        for f in response.context["figures"][0].headline
        if f.indicator.key == "upward_referral_rate"
    )
    assert figure.impossible and figure.incomplete
    assert figure.text == "不可能的数值"
    assert "超过 100 %" in figure.note
    assert "数据不完整：0/3 家机构" in page
    assert "117 ÷ 15 × 100" in page  # the computation says where it came from


@pytest.mark.django_db
def test_coverage_counts_the_members_that_sent_facts_for_every_month(world, alliance_office):
    year = THIS_YEAR - 1
    full_year(world["hospital"], year)
    full_year(world["center"], year)
    OutpatientVisit.objects.create(
        institution=world["other_center"],
        record_id="ONE",
        visit_date=datetime.date(year, 3, 1),
        visit_count=5,
        total_cost=Decimal("500.00"),
    )
    recompute(year)

    def coverage(period):
        row = IndicatorValue.objects.get(
            indicator="outpatient_visits", alliance=world["alliance"], period=period
        )
        return row.members, row.reporting

    assert coverage(str(year)) == (3, 2)
    assert coverage(f"{year}-03") == (3, 3)  # March: all three sent
    assert coverage(f"{year}-Q1") == (3, 2)
    # Figures from the platform alone (no facts) have no coverage; institutions neither.
    assert not IndicatorValue.objects.filter(institution__isnull=False, members__isnull=False)

    response = logged_in(alliance_office).get(DASHBOARD, {"year": year})
    page = response.content.decode()
    assert "数据不完整：2/3 家机构" in page
    # The incomplete months are left out of the charts; March is drawn.
    visits = response.context["charts"]["charts"]["outpatient_visits"]["series"][0]["data"]
    assert visits[2] == 25.0 and visits[0] is None


@pytest.mark.django_db
def test_the_api_and_the_exports_carry_the_coverage(world, alliance_office):
    year = THIS_YEAR - 1
    full_year(world["hospital"], year)
    recompute(year)
    client = logged_in(alliance_office)
    found = client.get(
        "/api/v1/indicators/",
        {"indicator": "outpatient_visits", "alliance": world["alliance"].pk, "period": str(year)},
    ).json()["results"]
    assert found[0]["coverage"] == {"members": 3, "reporting": 1}
    institution = client.get(
        "/api/v1/indicators/", {"indicator": "outpatient_visits", "period": str(year)}
    ).json()["results"]
    assert {r["coverage"] is None for r in institution if r["scope"]["type"] == "institution"} == {
        True
    }

    csv = client.get(DASHBOARD, {"year": year, "format": "csv", "table": "headline"})
    text = csv.content.decode("utf-8-sig")
    assert "覆盖" in text.splitlines()[1] or "Coverage" in text.splitlines()[1]
    assert "1/3" in text
    monthly = client.get(DASHBOARD, {"year": year, "format": "csv", "table": "monthly"})
    assert "1/3" in monthly.content.decode("utf-8-sig")


def test_an_impossible_rate_is_never_a_value():
    share = INDICATORS["downward_referral_share"]
    over = Figure(share, Decimal("101"), Decimal("101"), Decimal("100"), True)
    assert over.impossible and over.number is None and over.chart_value is None
    utilization = INDICATORS["bed_utilization_rate"]
    assert not Figure(utilization, Decimal("150"), None, None, True).impossible
    assert Figure(utilization, Decimal("200.5"), None, None, True).impossible


@pytest.mark.django_db
def test_the_dashboard_opens_on_the_latest_year_with_complete_facts(world, alliance_office):
    complete = THIS_YEAR - 2
    for member in ("hospital", "center", "other_center"):
        full_year(world[member], complete)
    # Last year only two rows arrived from one member: not where the dashboard opens.
    OutpatientVisit.objects.create(
        institution=world["center"],
        record_id="LATE",
        visit_date=datetime.date(THIS_YEAR - 1, 2, 1),
        visit_count=5,
        total_cost=Decimal("500"),
    )
    recompute(complete)
    recompute(THIS_YEAR - 1)
    response = logged_in(alliance_office).get(DASHBOARD)
    assert response.context["year"] == complete


@pytest.mark.django_db
def test_a_stay_left_open_does_not_count_as_the_months_facts(world):
    """The hospital's January file left a patient in hospital: the census fills the months
    after it, but no file came for them, so the quarter's coverage does not count it."""
    from reporting.models import InpatientStay

    year = THIS_YEAR - 1
    OutpatientVisit.objects.create(
        institution=world["hospital"],
        record_id="JAN",
        visit_date=datetime.date(year, 1, 5),
        visit_count=5,
        total_cost=Decimal("500.00"),
    )
    InpatientStay.objects.create(
        institution=world["hospital"],
        stay_id="OPEN",
        admit_date=datetime.date(year, 1, 10),
        discharge_date=None,
        total_cost=Decimal("0.00"),
    )
    recompute(year)
    row = IndicatorValue.objects.get(
        indicator="outpatient_visits", alliance=world["alliance"], period=f"{year}-Q1"
    )
    assert (row.members, row.reporting) == (3, 0)
    january = IndicatorValue.objects.get(
        indicator="outpatient_visits", alliance=world["alliance"], period=f"{year}-01"
    )
    assert (january.members, january.reporting) == (3, 1)
