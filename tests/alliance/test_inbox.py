"""The inbox (/notifications/, issue 15): 25 messages a page, newest first, grouped by day;
filters (unread, kind); opening a page marks read only the messages it shows; "mark all as
read" clears the header's badge, which counts every unread message (capped at "99+")."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from alliance import services
from alliance.models import Notification

pytestmark = pytest.mark.django_db

INBOX = "/notifications/"
READ_ALL = "/notifications/read-all/"
ELSEWHERE = "/accounts/tokens/"  # a page with the header that marks nothing read
BADGE = re.compile(r"badge-notification[^>]*>\s*([^<\s]+)\s*<")


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    return client


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def messages_for(user, n: int, *, prefix: str = "order-event", title: str = "消息") -> list:
    """`n` unread messages, the first the newest (one minute apart)."""
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        Notification(recipient=user, key=f"{prefix}-{user.pk}-{i}", title=f"{title} {i}")
        for i in range(n)
    )
    for i, row in enumerate(rows):
        row.created_at = now - datetime.timedelta(minutes=i)
    Notification.objects.bulk_update(rows, ["created_at"])
    return rows


def unread(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def badge(client) -> str | None:
    found = BADGE.search(html(client.get(ELSEWHERE)))
    return found.group(1) if found else None


def titles(response) -> list[str]:
    return [n.title for n in response.context["object_list"]]


# --- The badge ------------------------------------------------------------------------------


def test_the_badge_counts_every_unread_message_beyond_100(clinic_doctor):
    messages_for(clinic_doctor, 130)
    client = logged_in(clinic_doctor)

    response = client.get(ELSEWHERE)

    assert response.context["unread_notifications"] == 130
    assert BADGE.search(html(response)).group(1) == "99+"
    assert "130" in html(response)  # the real count in the bell's title (its name says 99+)

    client.get(INBOX)  # the first page: 25 of them read
    assert unread(clinic_doctor) == 105
    assert badge(client) == "99+"


def test_the_badge_shows_a_small_count_as_it_is(clinic_doctor):
    messages_for(clinic_doctor, 7)

    assert badge(logged_in(clinic_doctor)) == "7"


def test_mark_all_as_read_clears_the_badge_and_only_the_users_own(clinic_doctor, hospital_triage):
    messages_for(clinic_doctor, 130)
    messages_for(hospital_triage, 3)
    client = logged_in(clinic_doctor)

    response = client.post(READ_ALL, follow=True)

    assert response.redirect_chain == [(INBOX, 302)]
    assert [str(m) for m in response.context["messages"]] == ["已将 130 条消息标为已读。"]
    assert unread(clinic_doctor) == 0
    assert badge(client) is None
    assert unread(hospital_triage) == 3


def test_mark_all_as_read_keeps_the_filters_it_came_from(clinic_doctor):
    messages_for(clinic_doctor, 3)

    response = logged_in(clinic_doctor).post(READ_ALL, {"next": "/notifications/?kind=order"})

    assert response.status_code == 302
    assert response.url == "/notifications/?kind=order"


def test_mark_all_as_read_goes_back_to_the_inbox_only(clinic_doctor):
    response = logged_in(clinic_doctor).post(READ_ALL, {"next": "https://evil.example/"})

    assert response.url == INBOX


def test_mark_all_as_read_is_a_post(clinic_doctor):
    messages_for(clinic_doctor, 3)

    assert logged_in(clinic_doctor).get(READ_ALL).status_code == 405
    assert unread(clinic_doctor) == 3


def test_anonymous_visitors_are_sent_to_sign_in():
    assert Client().get(INBOX).status_code == 302
    assert Client().post(READ_ALL).status_code == 302


def test_the_service_marks_every_unread_message_of_the_user(clinic_doctor, hospital_triage):
    messages_for(clinic_doctor, 4)
    messages_for(hospital_triage, 2)

    assert services.notification_mark_all_read(user=clinic_doctor) == 4
    assert services.notification_mark_all_read(user=clinic_doctor) == 0
    assert unread(hospital_triage) == 2


# --- Pages, grouping, marking read ----------------------------------------------------------


def test_25_a_page_newest_first_and_only_the_shown_ones_are_marked_read(clinic_doctor):
    rows = messages_for(clinic_doctor, 60)
    client = logged_in(clinic_doctor)

    first = client.get(INBOX)

    assert titles(first) == [f"消息 {i}" for i in range(25)]
    assert first.context["paginator"].num_pages == 3
    assert unread(clinic_doctor) == 35
    assert not Notification.objects.filter(pk__in=[r.pk for r in rows[:25]], read_at=None)
    assert "fw-bold" in html(first)  # shown as new on the visit that reads them

    last = client.get(INBOX, {"page": 3})

    assert titles(last) == [f"消息 {i}" for i in range(50, 60)]
    assert unread(clinic_doctor) == 25  # page 2 was not shown


def test_messages_are_grouped_by_day(clinic_doctor):
    rows = messages_for(clinic_doctor, 3)
    now = timezone.localtime()
    days_ago = [0, 1, 5]
    for row, days in zip(rows, days_ago, strict=True):
        row.created_at = now - datetime.timedelta(days=days)
    Notification.objects.bulk_update(rows, ["created_at"])
    old = timezone.localdate(rows[2].created_at)

    response = logged_in(clinic_doctor).get(INBOX)
    content = html(response)

    assert [label for label, _ in response.context["days"]] == ["今天", "昨天", f"{old:%Y-%m-%d}"]
    assert content.index("今天") < content.index("昨天") < content.index(f"{old:%Y-%m-%d}")


def test_an_empty_inbox_says_so_in_chinese(clinic_doctor):
    content = html(logged_in(clinic_doctor).get(INBOX))

    assert "暂无消息" in content
    assert "No messages" not in content
    assert "Mark all as read" not in content


def test_another_users_messages_never_appear(clinic_doctor, hospital_triage):
    messages_for(hospital_triage, 5, title="别人的消息")
    messages_for(clinic_doctor, 2)

    for params in ({}, {"unread": "on"}, {"kind": "order"}, {"page": 1}):
        content = html(logged_in(clinic_doctor).get(INBOX, params))
        assert "别人的消息" not in content
    assert unread(hospital_triage) == 5


# --- Filters --------------------------------------------------------------------------------


def test_the_unread_filter_shows_only_unread_messages(clinic_doctor):
    rows = messages_for(clinic_doctor, 4)
    Notification.objects.filter(pk__in=[rows[0].pk, rows[2].pk]).update(read_at=timezone.now())

    response = logged_in(clinic_doctor).get(INBOX, {"unread": "on"})

    assert titles(response) == ["消息 1", "消息 3"]
    assert 'name="unread"' in html(response)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("referral", ["转诊 0", "转诊 1"]),
        ("order", ["订单 0"]),
        ("recall", ["召回 0"]),
        ("other", ["其他 0"]),
    ],
)
def test_the_kind_filter(clinic_doctor, kind, expected):
    messages_for(clinic_doctor, 2, prefix="referral-event", title="转诊")
    messages_for(clinic_doctor, 1, prefix="order-event", title="订单")
    messages_for(clinic_doctor, 1, prefix="cycle-recall", title="召回")
    messages_for(clinic_doctor, 1, prefix="welcome", title="其他")

    response = logged_in(clinic_doctor).get(INBOX, {"kind": kind})

    assert sorted(titles(response)) == expected


@pytest.mark.parametrize("params", [{"kind": "bogus"}, {"kind": "<b>"}, {"unread": "maybe"}])
def test_an_invalid_filter_is_a_chinese_field_error_not_a_500(clinic_doctor, params):
    messages_for(clinic_doctor, 2)

    response = logged_in(clinic_doctor).get(INBOX, params)
    content = html(response)

    if "kind" in params:
        assert "选择一个有效的选项" in content
        assert response.context["filter"].form.errors["kind"]
    assert len(response.context["object_list"]) == 2  # the invalid field is left out


# --- Queries --------------------------------------------------------------------------------


def test_the_page_makes_the_same_few_queries_for_5_and_for_60_messages(
    clinic_doctor, django_assert_num_queries
):
    client = logged_in(clinic_doctor)
    client.get(ELSEWHERE)  # the session's first write is not the inbox's
    messages_for(clinic_doctor, 5, prefix="a")
    # session, user, the page's count, its rows, marking them read (one UPDATE), the header's
    # staff profile, the unread count (the badge, one COUNT), the header's institution
    with django_assert_num_queries(8):
        assert len(client.get(INBOX).context["object_list"]) == 5
    messages_for(clinic_doctor, 55, prefix="b")
    with django_assert_num_queries(8):
        response = client.get(INBOX, {"unread": "on", "kind": "other"})
    assert len(response.context["object_list"]) == 25
