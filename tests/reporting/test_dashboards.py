"""The dashboards: each role's scope, aggregates only for the bureau, missing values as "—",
the paper's Table 1 from the demo facts, and a query count that does not grow with the data.

Indicator values come from facts through `recompute`, as in production; only the headline's
missing value is written by hand.
"""

import datetime
import html
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from alliance.choices import Role
from alliance.models import Institution
from reporting.models import BedCapacity, IndicatorValue, InpatientStay, OutpatientVisit
from reporting.selectors import table_indicators
from reporting.services.indicators import recompute
from tests.conftest import PERSONAS
from tests.kit.factories import AllianceFactory, InstitutionFactory, MembershipFactory, staff_user

YEAR = timezone.localdate().year - 1
D = datetime.date
DASHBOARD = "/reporting/"


def logged_in(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    if user is not None:
        client.force_login(user)
    return client


def institution_url(institution) -> str:
    return reverse("reporting:institution", args=[institution.pk])


def visit(institution, count: int, cost: str, record="V1", day=None) -> None:
    OutpatientVisit.objects.create(
        institution=institution,
        record_id=record,
        visit_date=day or D(YEAR, 4, 2),
        visit_count=count,
        total_cost=Decimal(cost),
    )


def stay(institution, admit, discharge, cost="1000.00", stay_id="S1") -> None:
    InpatientStay.objects.create(
        institution=institution,
        stay_id=stay_id,
        admit_date=admit,
        discharge_date=discharge,
        total_cost=Decimal(cost),
    )


def beds(institution, open_beds: int) -> None:
    BedCapacity.objects.create(
        institution=institution, effective_from=D(YEAR, 1, 1), open_beds=open_beds
    )


def build_facts(world) -> dict:
    """Last year's facts: the hospital and the centre with beds and stays, the other member
    centre with beds and one patient still in hospital since 1 December (no discharge: no
    average stay, nothing to divide by), the centre outside
    the alliance with visits only. Outpatient cost per visit: 310.00, 165.00, 222.22, 432.10."""
    hospital, center = world["hospital"], world["center"]
    other, foreign = world["other_center"], world["foreign_center"]
    beds(hospital, 100)
    beds(center, 20)
    beds(other, 10)
    stay(hospital, D(YEAR, 3, 1), D(YEAR, 3, 11), "9000.00")
    stay(center, D(YEAR, 5, 1), D(YEAR, 5, 21), "6500.00")
    stay(other, D(YEAR, 12, 1), None, "0.00")
    visit(hospital, 100, "31000.00")
    visit(center, 10, "1650.00")
    visit(other, 10, "2222.20")
    visit(foreign, 10, "4321.00")
    recompute(YEAR)
    return world


@pytest.fixture
def facts(world):
    return build_facts(world)


def table_rows(content: str, table: str = "comparison") -> dict[int, list[str]]:
    """Institution id → the texts of its cells, from the page's table."""
    section = content.split(f'data-table="{table}"', 1)[1].split("</table>", 1)[0]
    return {
        int(pk): [html.unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        for pk, body in re.findall(r'<tr data-institution="(\d+)">(.*?)</tr>', section, re.S)
    }


def cell_attributes(content: str, institution) -> list[str]:
    section = content.split(f'<tr data-institution="{institution.pk}">', 1)[1]
    return re.findall(r"<td([^>]*)>", section.split("</tr>", 1)[0])


# --- who sees what -----------------------------------------------------------------------------


def test_the_office_sees_its_alliance_and_nothing_outside(facts, alliance_office):
    response = logged_in(alliance_office).get(DASHBOARD, {"year": YEAR})
    assert response.status_code == 200
    rows = table_rows(response.content.decode())
    # Outpatient cost per visit for the three years ending last year, then bed utilization.
    assert set(rows) == {facts["hospital"].pk, facts["center"].pk, facts["other_center"].pk}
    assert rows[facts["center"].pk][:3] == ["—", "—", "165.00"]
    assert rows[facts["other_center"].pk][2] == "222.22"
    days = (D(YEAR + 1, 1, 1) - D(YEAR, 1, 1)).days
    assert rows[facts["center"].pk][5] == f"{Decimal(20 * 100) / (20 * days):.2f}"
    assert "432.10" not in response.content.decode()
    assert [a.pk for a in response.context["scope"].alliances] == [facts["alliance"].pk]


def test_the_bureau_sees_only_its_districts_institutions(facts, bureau_viewer):
    response = logged_in(bureau_viewer).get(DASHBOARD, {"year": YEAR})
    assert response.status_code == 200
    content = response.content.decode()
    rows = table_rows(content)
    assert set(rows) == {facts["hospital"].pk, facts["center"].pk}  # Pudong, with values
    assert {i.district_id for i in response.context["scope"].institutions} == {facts["pudong"].pk}
    assert "222.22" not in content and "432.10" not in content
    # The alliance with a member in Pudong, with its aggregate (its Fengxian member included).
    assert [f.alliance.pk for f in response.context["figures"]] == [facts["alliance"].pk]
    # The district is fixed: asking for another one changes nothing.
    other = logged_in(bureau_viewer).get(
        DASHBOARD, {"year": YEAR, "district": facts["fengxian"].pk}
    )
    assert set(table_rows(other.content.decode())) == set(rows)


def test_the_superuser_sees_everything_and_may_choose_a_district(facts, superuser):
    client = logged_in(superuser)
    rows = table_rows(client.get(DASHBOARD, {"year": YEAR}).content.decode())
    assert facts["foreign_center"].pk in rows and rows[facts["foreign_center"].pk][2] == "432.10"
    fengxian = client.get(DASHBOARD, {"year": YEAR, "district": facts["fengxian"].pk})
    assert set(table_rows(fengxian.content.decode())) == {
        facts["other_center"].pk,
        facts["foreign_center"].pk,
    }


def test_the_tier_filter_keeps_the_primary_care_rows(facts, alliance_office):
    response = logged_in(alliance_office).get(DASHBOARD, {"year": YEAR, "tier": "primary"})
    assert set(table_rows(response.content.decode())) == {
        facts["center"].pk,
        facts["other_center"].pk,
    }


@pytest.mark.parametrize(
    "persona, home",
    [("clinic_doctor", "center"), ("hospital_triage", "hospital"), ("center_staff", "hospital")],
    indirect=["persona"],
)
def test_other_staff_are_sent_to_their_own_institution(facts, persona, home):
    response = logged_in(persona).get(DASHBOARD, {"year": YEAR})
    assert response.status_code == 302
    assert response["Location"] == f"{institution_url(facts[home])}?year={YEAR}"
    page = logged_in(persona).get(response["Location"])
    assert page.status_code == 200
    assert page.context["institution"] == facts[home]


OPENS = {
    "clinic_doctor": {"center"},
    "outsider_clinic_user": {"other_center"},
    "hospital_triage": {"hospital"},
    "center_staff": {"hospital"},
    "alliance_office": {"hospital", "center", "station", "other_center"},
    "bureau_viewer": {"hospital", "center", "station", "bureau"},
    "no_profile_user": set(),
    "superuser": {"hospital", "center", "station", "other_center", "foreign_center", "bureau"},
}
INSTITUTIONS = ["hospital", "center", "station", "other_center", "foreign_center", "bureau"]


@pytest.mark.parametrize("name", PERSONAS)
def test_who_may_open_which_institution_page(facts, name, request):
    client = logged_in(request.getfixturevalue(name))
    for key in INSTITUTIONS:
        expected = 200 if key in OPENS[name] else 404
        assert client.get(institution_url(facts[key])).status_code == expected, key


@pytest.mark.parametrize(
    "persona, status",
    [
        ("alliance_office", 200),
        ("bureau_viewer", 200),
        ("superuser", 200),
        ("clinic_doctor", 302),
        ("no_profile_user", 403),
    ],
    indirect=["persona"],
)
def test_the_dashboard_by_role(facts, persona, status):
    assert logged_in(persona).get(DASHBOARD).status_code == status


def test_anonymous_visitors_are_sent_to_log_in(facts):
    for url in (DASHBOARD, institution_url(facts["center"])):
        response = logged_in().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_institution_page_shows_every_year_with_values(facts, clinic_doctor):
    response = logged_in(clinic_doctor).get(institution_url(facts["center"]))
    assert response.status_code == 200
    history = response.context["history"]
    assert history.years == [YEAR] and response.context["year"] == YEAR
    content = response.content.decode()
    row = content.split('<tr data-indicator="avg_outpatient_cost">', 1)[1].split("</tr>", 1)[0]
    assert "165.00" in row
    charts = response.context["charts"]["charts"]
    assert charts["outpatient_visits"]["series"][0]["data"][3] == 10  # April
    # March: no visit, a count of zero; but no cost per visit (nothing to divide by).
    assert charts["outpatient_visits"]["series"][0]["data"][2] == 0
    assert charts["avg_outpatient_cost"]["series"][0]["data"][2] is None


# --- aggregates only for the bureau -------------------------------------------------------------


@pytest.fixture
def referred(facts, clinic_doctor):
    """An upward referral submitted this year, counted by this year's recomputation."""
    from referrals import services

    referral, _ = services.referral_create(
        actor=clinic_doctor,
        patient=facts["patient"],
        to_institution=facts["hospital"],
        to_department=facts["cardiology"],
        diagnosis_code="I20.0",
        diagnosis_text="不稳定型心绞痛",
        reason="反复胸痛",
        consent=True,
        submit=True,
    )
    recompute(timezone.localdate().year)
    return referral


def _text(response) -> str:
    if response["Content-Type"].startswith("application/vnd.openxmlformats"):
        workbook = load_workbook(io.BytesIO(response.content), read_only=True)
        return "\n".join(
            str(value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    return response.content.decode("utf-8-sig")


def test_the_bureau_never_sees_a_patient(facts, referred, bureau_viewer):
    client = logged_in(bureau_viewer)
    this_year = timezone.localdate().year
    all_columns = [i.key for i in table_indicators()]
    urls = [
        (DASHBOARD, {}),
        (DASHBOARD, {"year": YEAR, "indicators": all_columns}),
        (DASHBOARD, {"year": this_year, "indicators": all_columns}),
    ]
    for table in ("comparison", "headline", "monthly"):
        for fmt in ("xlsx", "csv"):
            urls.append((DASHBOARD, {"year": this_year, "format": fmt, "table": table}))
    for key in ("hospital", "center", "station", "bureau"):
        url = institution_url(facts[key])
        urls += [(url, {}), (url, {"year": YEAR})]
        for table in ("years", "monthly"):
            for fmt in ("xlsx", "csv"):
                urls.append((url, {"year": this_year, "format": fmt, "table": table}))
    secrets = [referred.number]
    for key in ("patient", "station_patient", "other_patient", "foreign_patient"):
        patient = facts[key]
        secrets += [patient.name, patient.id_number, patient.masked_id_number, patient.phone]
    for url, params in urls:
        response = client.get(url, params)
        assert response.status_code == 200, (url, params)
        text = _text(response)
        for secret in secrets:
            assert secret not in text, (url, params, secret)
        assert 'href="/referrals/' not in text and "/patients/" not in text
    # The referral does count, as a number.
    assert (
        IndicatorValue.objects.get(
            indicator="upward_referrals", alliance=facts["alliance"], period=str(this_year)
        ).value
        == 1
    )


# --- missing values ----------------------------------------------------------------------------


def test_a_missing_value_is_a_dash_never_zero(facts, alliance_office):
    client = logged_in(alliance_office)
    response = client.get(DASHBOARD, {"year": YEAR, "indicators": ["avg_length_of_stay"]})
    content = response.content.decode()
    rows = table_rows(content)
    # The other centre discharged nobody: no average stay.
    assert rows[facts["other_center"].pk][2] == "—"
    assert 'data-missing="zero-denominator"' in cell_attributes(content, facts["other_center"])[2]
    assert rows[facts["center"].pk][2] == "20.00"
    # Its one patient occupied a bed on the 31 nights of December, out of 10 beds all year.
    response = client.get(DASHBOARD, {"year": YEAR, "indicators": ["bed_utilization_rate"]})
    days = (D(YEAR + 1, 1, 1) - D(YEAR, 1, 1)).days
    expected = f"{Decimal(31 * 100) / (10 * days):.2f}"
    assert table_rows(response.content.decode())[facts["other_center"].pk][2] == expected

    IndicatorValue.objects.filter(
        alliance=facts["alliance"], indicator="avg_length_of_stay", period=str(YEAR)
    ).update(value=None, numerator=0, denominator=0)
    response = client.get(DASHBOARD, {"year": YEAR})
    figure = response.content.decode().split('data-figure="avg_length_of_stay"', 1)[1]
    figure = figure.split('data-figure="', 1)[0]
    assert re.search(r"<span data-value>(.*?)</span>", figure).group(1) == "—"
    assert "data-note" in figure
    headline = {f.indicator.key: f for f in response.context["figures"][0].headline}
    assert headline["avg_length_of_stay"].value is None and headline["avg_length_of_stay"].present


def test_the_headline_shows_its_numbers_and_benchmarks(facts, alliance_office):
    response = logged_in(alliance_office).get(DASHBOARD, {"year": YEAR})
    headline = {f.indicator.key: f for f in response.context["figures"][0].headline}
    beds_figure = headline["beds_per_1000"]
    # 100 + 20 + 10 beds for the two centres' 80,000 residents (the hospital serves no one).
    assert (beds_figure.numerator, beds_figure.denominator) == (130, 80000)
    assert beds_figure.text == "1.63"
    assert [n for _label, n in beds_figure.benchmarks] == ["6.4", "4.2"]
    assert headline["avg_outpatient_cost"].text == f"{Decimal('34872.20') / 120:.2f}"
    content = response.content.decode()
    block = content.split('data-figure="beds_per_1000"', 1)[1].split('data-figure="', 1)[0]
    assert "130 ÷ 80,000 × 1,000" in block


# --- filters -----------------------------------------------------------------------------------


def test_invalid_filters_show_field_errors_not_a_server_error(facts, alliance_office):
    client = logged_in(alliance_office)
    response = client.get(
        DASHBOARD,
        {
            "year": "19x9",
            "tier": "quaternary",
            "district": "abc",
            "alliance": "999999",
            "indicators": ["no_such_indicator"],
        },
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {
        "year",
        "tier",
        "district",
        "alliance",
        "indicators",
    }
    assert 'data-field-error="year"' in response.content.decode()
    # The defaults apply: the latest year with values, the paper's two columns.
    assert response.context["year"] == YEAR
    assert [i.key for i in response.context["table"].indicators] == [
        "avg_outpatient_cost",
        "bed_utilization_rate",
    ]
    page = client.get(institution_url(facts["center"]), {"year": "1800"})
    assert page.status_code == 200 and "year" in page.context["form"].errors


def test_the_year_defaults_to_the_latest_with_values(facts, alliance_office):
    IndicatorValue.objects.filter(period__startswith=str(YEAR + 1)).delete()
    response = logged_in(alliance_office).get(DASHBOARD)
    assert response.context["year"] == YEAR
    assert response.context["table"].years == [YEAR - 2, YEAR - 1, YEAR]


# --- the paper's Table 1 -----------------------------------------------------------------------

PAPER = {
    "万祥": ["139.62", "161.95", "171.29", "94.07", "88.61", "98.67"],
    "泥城": ["144.11", "163.45", "155.16", "82.43", "87.82", "55.19"],
    "芦潮港": ["90.11", "106.00", "115.63", "87.00", "76.00", "85.00"],
    "书院": ["165.00", "175.00", "182.00", "—", "—", "—"],
}


def test_the_demo_reads_the_papers_table_1(db):
    from alliance.demo import load_demo as load_alliance
    from reporting.demo import load_demo as load_facts

    load_alliance()
    load_facts()
    office = Institution.objects.get(short_name="临港院区").staff.get(role=Role.ALLIANCE_OFFICE)
    response = logged_in(office.user).get(DASHBOARD, {"year": 2019})
    assert response.status_code == 200
    rows = table_rows(response.content.decode())
    ids = dict(Institution.objects.filter(short_name__in=PAPER).values_list("short_name", "pk"))
    assert {name: rows[ids[name]] for name in PAPER} == PAPER
    assert response.context["table"].years == [2017, 2018, 2019]


# --- speed -------------------------------------------------------------------------------------

# Session, user, profile, scope (memberships, institutions), the profile's institution (the
# values' restrict), years, the table's and the alliances' values, the inbox count; the bureau's
# page header also asks Django's permission tables twice (no rules grant it referrals). An
# export writes its access-log row.
QUERIES = {"office": 10, "bureau": 12, "institution": 9, "export": 9}


def add_centers(world, n: int, start: int) -> list:
    centers = []
    for index in range(start, start + n):
        center = InstitutionFactory(district=world["pudong"])
        MembershipFactory(alliance=world["alliance"], institution=center)
        beds(center, 10 + index)
        stay(center, D(YEAR, 2, 1), D(YEAR, 2, 11))
        visit(center, 10 + index, f"{1000 + index}.00")
        centers.append(center)
    recompute(YEAR)
    return centers


def count_queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


def test_the_pages_run_a_fixed_number_of_queries(world, alliance_office, bureau_viewer):
    office, bureau = logged_in(alliance_office), logged_in(bureau_viewer)
    params = {
        "year": YEAR,
        "indicators": ["avg_outpatient_cost", "bed_utilization_rate", "discharges"],
    }
    counts = []
    for n, start in ((2, 0), (4, 2)):
        centers = add_centers(world, n, start)
        rows = len(table_rows(office.get(DASHBOARD, params).content.decode()))
        counts.append(
            (
                rows,
                count_queries(office, DASHBOARD, params),
                count_queries(bureau, DASHBOARD, params),
                count_queries(office, institution_url(centers[0]), {"year": YEAR}),
            )
        )
    assert [rows for rows, *_ in counts] == [2, 6]
    expected = (QUERIES["office"], QUERIES["bureau"], QUERIES["institution"])
    assert [tuple(c) for _rows, *c in counts] == [expected, expected]


def test_an_export_runs_a_fixed_number_of_queries(world, alliance_office):
    office = logged_in(alliance_office)
    counts = []
    for n, start in ((2, 0), (4, 2)):
        add_centers(world, n, start)
        counts.append(
            count_queries(
                office, DASHBOARD, {"year": YEAR, "format": "xlsx", "table": "comparison"}
            )
        )
    assert counts == [QUERIES["export"], QUERIES["export"]]  # no page header: no inbox count


def test_the_comparison_table_pages_by_fifty_institutions_and_the_export_holds_all(
    world, alliance_office, monkeypatch
):
    from reporting.views import dashboards

    monkeypatch.setattr(dashboards, "TABLE_ROWS_PER_PAGE", 3)
    add_centers(world, 5, 0)  # five centres with values: pages of 3 and 2
    office = logged_in(alliance_office)
    first = office.get(DASHBOARD, {"year": YEAR})
    second = office.get(DASHBOARD, {"year": YEAR, "page": 2})
    beyond = office.get(DASHBOARD, {"year": YEAR, "page": 99})  # the last page, not an error
    on_first, on_second = table_rows(first.content.decode()), table_rows(second.content.decode())
    assert (len(on_first), len(on_second)) == (3, 2)
    assert not set(on_first) & set(on_second)
    assert set(table_rows(beyond.content.decode())) == set(on_second)
    assert "机构 1–3，共 5 家" in first.content.decode()
    assert 'page=2"' in first.content.decode().replace("&amp;", "&")
    export = office.get(DASHBOARD, {"year": YEAR, "format": "csv", "table": "comparison"})
    exported = export.content.decode("utf-8-sig").splitlines()
    assert (
        sum(
            1
            for line in exported
            if line.startswith(
                tuple(
                    Institution.objects.filter(pk__in=set(on_first) | set(on_second)).values_list(
                        "name", flat=True
                    )
                )
            )
        )
        == 5
    )


def test_a_new_office_in_an_empty_alliance_sees_empty_tables(world):
    lonely = InstitutionFactory(district=world["fengxian"])
    alliance = AllianceFactory(lead_institution=lonely)
    MembershipFactory(alliance=alliance, institution=lonely)
    office = staff_user(Role.ALLIANCE_OFFICE, lonely, username="lonely_office")
    response = logged_in(office).get(DASHBOARD)
    assert response.status_code == 200
    assert response.context["table"].rows == []
