"""Change history of response limits and follow-up tasks (django-pghistory triggers), with the
user of the request that made each change. PostgreSQL only: SQLite has no such triggers."""

import pytest

from referrals.models import FollowUpTaskHistory, ResponseLimitHistory
from tests.conftest import require_postgres

from .test_follow_ups import task  # noqa: F401 (fixture)

LIMITS = {
    "emergency_minutes": 10,
    "emergency_expire": 30,
    "urgent_minutes": 120,
    "urgent_expire": 600,
    "routine_minutes": 1440,
    "routine_expire": 2880,
}


@pytest.fixture(autouse=True)
def _postgres(db):
    require_postgres()


def test_setting_the_response_limits_on_the_page_keeps_who_changed_what(
    alliance_office, browser_client
):
    browser_client.force_login(alliance_office)
    assert browser_client.post("/referrals/limits/", LIMITS).status_code == 302
    assert (
        browser_client.post("/referrals/limits/", LIMITS | {"urgent_minutes": 90}).status_code
        == 302
    )

    urgent = ResponseLimitHistory.objects.filter(urgency="urgent").order_by("pgh_id")
    assert [(r.pgh_label, r.minutes) for r in urgent][-2:] == [("insert", 120), ("update", 90)]
    context = urgent.last().pgh_context.metadata
    assert (context["user"], context["url"]) == (alliance_office.pk, "/referrals/limits/")

    page = browser_client.get("/referrals/limits/").content.decode()
    assert 'id="limit-history"' in page
    name = alliance_office.get_full_name() or alliance_office.get_username()
    assert name in page.split('id="limit-history"')[1]


def test_recording_a_follow_up_keeps_who_recorded_it(task, api, clinic_doctor):  # noqa: F811
    done = api.as_user(clinic_doctor).post(
        f"/api/v1/follow-ups/{task.pk}/done/", {"note": "已随访"}
    )
    assert done.status_code == 200, done.content

    rows = list(FollowUpTaskHistory.objects.filter(pgh_obj_id=task.pk).order_by("pgh_id"))
    assert [r.pgh_label for r in rows] == ["insert", "update"]
    assert (rows[-1].done_by_id, rows[-1].note) == (clinic_doctor.pk, "已随访")
    assert rows[-1].pgh_context.metadata["user"] == clinic_doctor.pk


def test_the_admin_lists_follow_up_changes_with_their_author(
    task,  # noqa: F811
    api,
    clinic_doctor,
    superuser,
    browser_client,
):
    api.as_user(clinic_doctor).post(f"/api/v1/follow-ups/{task.pk}/done/", {"note": "已随访"})
    browser_client.force_login(superuser)
    response = browser_client.get("/admin/referrals/followuptaskhistory/")
    assert response.status_code == 200
    assert (
        clinic_doctor.get_full_name() or clinic_doctor.get_username() in response.content.decode()
    )
    assert browser_client.get("/admin/referrals/followuptaskhistory/add/").status_code == 403
