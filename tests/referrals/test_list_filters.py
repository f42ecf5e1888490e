"""The referral list and the follow-up worklist filter like their API endpoints (one FilterSet
each): the same parameters give the same rows; an invalid one is a 400 naming the field in the
API and a field error over the unfiltered list on the page."""

import pytest

from referrals import services
from tests.referrals.test_follow_ups import PLAN, complete_up
from tests.sharedcenters.test_list_filters import assert_refused_alike, assert_same_rows

REFERRALS = ("/referrals/", "/api/v1/referrals/")
FOLLOW_UPS = ("/referrals/follow-ups/", "/api/v1/follow-ups/")


@pytest.fixture
def referrals(referral_in):
    return {
        "submitted": referral_in("submitted"),
        "accepted": referral_in("accepted"),
        "emergency": referral_in("submitted", urgency="emergency"),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "accepted"}, {"accepted"}),
        ({"status": ["accepted", "submitted"]}, {"accepted", "submitted", "emergency"}),
        ({"urgency": "emergency"}, {"emergency"}),
        ({"direction": "up"}, {"accepted", "submitted", "emergency"}),
        ({"q": "accepted"}, {"accepted"}),
    ],
)
def test_the_referral_page_and_api_filter_alike(api, clinic_doctor, referrals, params, expected):
    if params.get("q") in referrals:
        params = {"q": referrals[params["q"]].number}
    wanted = {referrals[name].pk for name in expected}

    assert_same_rows(api, clinic_doctor, *REFERRALS, params, wanted)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"urgency": "bogus"}, "urgency"),
        ({"submitted_after": "不是日期"}, "submitted_after"),
        ({"to_institution": "abc"}, "to_institution"),
    ],
)
def test_an_invalid_referral_filter_is_refused_alike(api, clinic_doctor, referrals, params, field):
    listed = assert_refused_alike(api, clinic_doctor, *REFERRALS, params, field)

    assert listed == {r.pk for r in referrals.values()}


@pytest.fixture
def tasks(make_referral, clinic_doctor, hospital_triage):
    up = complete_up(make_referral, clinic_doctor, hospital_triage, follow_up=PLAN)
    back, _ = services.referral_refer_back(actor=hospital_triage, referral=up, submit=True)
    services.referral_accept(actor=clinic_doctor, referral=back)
    return {task.kind: task for task in back.follow_ups.all()}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "visit"}, {"visit"}),
        ({"open": "1", "kind": "medication_review"}, {"medication_review"}),
        ({"institution": "centre"}, {"visit", "medication_review"}),
    ],
)
def test_the_follow_up_page_and_api_filter_alike(
    api, clinic_doctor, tasks, world, params, expected
):
    params = {k: world["center"].pk if v == "centre" else v for k, v in params.items()}

    assert_same_rows(api, clinic_doctor, *FOLLOW_UPS, params, {tasks[k].pk for k in expected})


def test_the_follow_ups_filter_by_referral_alike(api, clinic_doctor, tasks):
    referral = tasks["visit"].referral_id

    assert_same_rows(
        api, clinic_doctor, *FOLLOW_UPS, {"referral": referral}, {t.pk for t in tasks.values()}
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "yoga"}, "kind"),
        ({"referral": "abc"}, "referral"),
        ({"institution": "x"}, "institution"),
    ],
)
def test_an_invalid_follow_up_filter_is_refused_alike(api, clinic_doctor, tasks, params, field):
    listed = assert_refused_alike(api, clinic_doctor, *FOLLOW_UPS, params, field)

    assert listed == {t.pk for t in tasks.values()}
