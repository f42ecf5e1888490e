"""`/api/v1/indicators/`: aggregates only, each viewer's own world, clear 400s."""

import datetime
from decimal import Decimal

import pytest

from reporting.indicators import INDICATORS
from reporting.models import BedCapacity, InpatientStay, OutpatientVisit
from reporting.services.indicators import recompute

URL = "/api/v1/indicators/"
D = datetime.date


@pytest.fixture
def figures(world):
    """Visits in 2021 everywhere; beds and one stay at the hospital only."""
    for n, key in enumerate(["hospital", "center", "other_center", "foreign_center"]):
        OutpatientVisit.objects.create(
            institution=world[key],
            record_id=f"V{n}",
            visit_date=D(2021, 3, 1),
            visit_count=10,
            total_cost=Decimal(1000 * (n + 1)),
        )
    BedCapacity.objects.create(
        institution=world["hospital"], effective_from=D(2021, 1, 1), open_beds=10
    )
    InpatientStay.objects.create(
        institution=world["hospital"],
        stay_id="Z1",
        admit_date=D(2021, 3, 1),
        discharge_date=D(2021, 3, 11),
        total_cost=Decimal(5000),
    )
    recompute(2021, today=D(2026, 11, 23))
    return world


def scopes(response):
    assert response.status_code == 200, response.content
    return {(row["scope"]["type"], row["scope"]["name"]) for row in response.json()["results"]}


def test_anonymous_is_refused(api, figures):
    assert api.get(URL).status_code in (401, 403)


@pytest.mark.parametrize(
    "persona, seen",
    [
        (
            "alliance_office",
            {"临港院区", "泥城社区卫生服务中心", "四团平安社区卫生服务中心", "临港医联体"},
        ),
        ("bureau_viewer", {"临港院区", "泥城社区卫生服务中心", "临港医联体"}),
        ("clinic_doctor", {"泥城社区卫生服务中心", "临港医联体"}),
        ("outsider_clinic_user", {"四团平安社区卫生服务中心", "临港医联体"}),
    ],
)
def test_each_viewer_reads_only_its_own_world(api, figures, request, persona, seen):
    user = request.getfixturevalue(persona)
    names = {
        name
        for _type, name in scopes(api.as_user(user).get(URL, {"period": "2021", "page_size": 200}))
    }
    assert names == seen


def test_filters_and_the_row_shape(api, figures, alliance_office):
    client = api.as_user(alliance_office)
    response = client.get(
        URL,
        {
            "indicator": "avg_outpatient_cost",
            "institution": figures["center"].code,
            "period": "2021-Q1",
        },
    )
    [row] = response.json()["results"]
    assert row["scope"] == {
        "type": "institution",
        "id": figures["center"].pk,
        "code": figures["center"].code,
        "name": "泥城社区卫生服务中心",
    }
    assert (row["indicator"], row["period"], row["value"]) == (
        "avg_outpatient_cost",
        "2021-Q1",
        200.0,
    )
    assert (row["numerator"], row["denominator"]) == (2000.0, 10.0)
    assert row["unit"]
    alliance = client.get(
        URL,
        {"indicator": "avg_outpatient_cost", "alliance": figures["alliance"].pk, "period": "2021"},
    ).json()["results"]
    # Ratio of sums over the three members: (1,000 + 2,000 + 3,000) ÷ 30.
    assert [r["value"] for r in alliance] == [200.0]


def test_zero_denominator_is_null_not_zero(api, figures, alliance_office):
    rows = (
        api.as_user(alliance_office)
        .get(
            URL,
            {
                "indicator": "avg_length_of_stay",
                "institution": figures["hospital"].code,
                "period": "2021-02",
            },
        )
        .json()["results"]
    )
    assert [(r["value"], r["denominator"]) for r in rows] == [(None, 0.0)]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"indicator": "happiness"}, "indicator"),
        ({"period": "2019-13"}, "period"),
        ({"period": "last year"}, "period"),
        ({"institution": "NO-SUCH-CODE"}, "institution"),
        ({"alliance": "x"}, "alliance"),
    ],
)
def test_bad_filters_answer_400_saying_which(api, figures, alliance_office, params, field):
    response = api.as_user(alliance_office).get(URL, params)
    assert response.status_code == 400
    assert field in response.json()


def test_another_worlds_institution_gives_no_rows(api, figures, clinic_doctor):
    rows = api.as_user(clinic_doctor).get(URL, {"institution": figures["hospital"].code}).json()
    assert rows["results"] == []


def test_definitions_list_every_indicator(api, figures, bureau_viewer):
    response = api.as_user(bureau_viewer).get(URL + "definitions/")
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.json()}
    assert set(rows) == set(INDICATORS)
    assert rows["bed_utilization_rate"]["factor"] == 100
    assert rows["exam_tat_median_hours"]["median"] is True


def test_the_list_runs_a_fixed_number_of_queries(
    api, figures, alliance_office, django_assert_max_num_queries
):
    client = api.as_user(alliance_office)
    with django_assert_max_num_queries(8):
        assert client.get(URL, {"page_size": 200}).status_code == 200
