"""The referral pages: my referrals, the incoming worklist, new referral, detail, slip, the action
buttons and the inbox. Chinese first; a referral the user may not see is a 404; the forms keep
what was typed and show their errors; a refused action is a message, never a change.

Unhappy paths first in each section.
"""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from alliance.choices import Role
from alliance.models import Notification
from referrals.models import Referral, ReferralEvent
from tests.kit.factories import staff_user

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
MASKED_ID = re.compile(r"\d{6}\*{8}[\dX]{4}")


def logged_in(user, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def snapshot(referral) -> tuple:
    referral.refresh_from_db()
    return (
        referral.status,
        referral.status_note,
        referral.to_institution_id,
        ReferralEvent.objects.filter(referral=referral).count(),
        Referral.objects.count(),
    )


def page_urls(referral) -> dict[str, str]:
    return {
        "list": "/referrals/",
        "incoming": "/referrals/incoming/",
        "new": "/referrals/new/",
        "detail": f"/referrals/{referral.pk}/",
        "slip": f"/referrals/{referral.pk}/slip/",
        "notifications": "/notifications/",
    }


# English of each page that must not show through in Chinese (the msgids stay stable).
ENGLISH = {
    "list": ["My referrals", "New referral", "Number or patient name", "No referrals."],
    "incoming": ["Incoming referrals", "Most urgent first"],
    "new": ["New referral", "Find the patient", "Nearest capable institutions", "Save"],
    "detail": ["Timeline", "Actions", "Print slip", "Identity number", "Clinical summary"],
    "slip": ["Two-way referral slip", "Identity number", "Bring this slip", "Referring doctor"],
    "notifications": ["Inbox", "No messages."],
}


# --- Who may open which page --------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["bureau_viewer", "center_staff", "no_profile_user"])
@pytest.mark.parametrize("page", ["list", "incoming", "new", "detail", "slip"])
def test_roles_without_referral_work_get_403_on_every_referral_page(
    referral_in, request, persona, page
):
    referral = referral_in("submitted")
    client = logged_in(request.getfixturevalue(persona))

    response = client.get(page_urls(referral)[page])

    assert response.status_code == 403
    assert referral.number not in response.content.decode()


@pytest.mark.parametrize("persona", ["bureau_viewer", "center_staff", "no_profile_user"])
def test_roles_without_referral_work_may_not_post_an_action(referral_in, request, persona):
    referral = referral_in("submitted")
    before = snapshot(referral)

    response = logged_in(request.getfixturevalue(persona)).post(
        f"/referrals/{referral.pk}/accept/", {}
    )

    assert response.status_code == 403
    assert snapshot(referral) == before


@pytest.mark.parametrize("page", ["list", "incoming", "new", "detail", "slip", "notifications"])
def test_anonymous_visitors_are_sent_to_the_login_page(referral_in, page):
    url = page_urls(referral_in("submitted"))[page]

    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_anonymous_action_post_changes_nothing(referral_in):
    referral = referral_in("submitted")
    before = snapshot(referral)

    response = Client().post(f"/referrals/{referral.pk}/accept/", {})

    assert response.status_code == 302
    assert snapshot(referral) == before


@pytest.mark.parametrize("page", ["detail", "slip"])
def test_a_third_institution_gets_a_404_for_the_referral(outsider_clinic_user, referral_in, page):
    referral = referral_in("submitted")

    response = logged_in(outsider_clinic_user).get(page_urls(referral)[page])

    assert response.status_code == 404
    content = response.content.decode()
    assert referral.number not in content and "张伟" not in content


@pytest.mark.parametrize("action", ["accept", "cancel", "reject", "refer_back", "bogus"])
def test_a_third_institutions_action_post_is_a_404_and_changes_nothing(
    outsider_clinic_user, referral_in, action
):
    referral = referral_in("submitted")
    before = snapshot(referral)

    response = logged_in(outsider_clinic_user).post(
        f"/referrals/{referral.pk}/{action}/", {f"{action}-reason": "x"}
    )

    assert response.status_code == 404
    assert snapshot(referral) == before


@pytest.mark.parametrize("url", ["/referrals/999999/", "/referrals/999999/slip/"])
def test_an_unknown_referral_is_a_404(clinic_doctor, world, url):
    assert logged_in(clinic_doctor).get(url).status_code == 404


def test_the_third_institution_does_not_see_the_referral_in_its_lists(
    outsider_clinic_user, referral_in
):
    referral = referral_in("submitted")
    client = logged_in(outsider_clinic_user)

    for url in ("/referrals/", "/referrals/incoming/"):
        assert referral.number not in html(client.get(url)), url
    searched = client.get("/referrals/", {"q": referral.number})
    assert list(searched.context["object_list"]) == []


# --- Every page renders, in Chinese -------------------------------------------------------------


@pytest.mark.parametrize("persona", ["clinic_doctor", "hospital_triage", "alliance_office"])
@pytest.mark.parametrize("page", list(ENGLISH))
def test_pages_render_in_chinese_for_sender_receiver_and_office(
    referral_in, request, persona, page
):
    referral = referral_in("scheduled")

    content = html(logged_in(request.getfixturevalue(persona)).get(page_urls(referral)[page]))

    assert 'lang="zh-hans"' in content
    title = re.search(r"<title>(.*?)</title>", content, re.S).group(1)
    assert CJK.search(title), title
    for english in ENGLISH[page]:
        assert english not in content, english
    if page in ("list", "detail", "slip"):
        assert referral.number in content


def test_pages_switch_to_english(clinic_doctor, referral_in):
    referral = referral_in("submitted")

    content = html(logged_in(clinic_doctor, "en").get(f"/referrals/{referral.pk}/"))

    assert "Timeline" in content and 'lang="en"' in content


def test_the_detail_shows_the_timeline_and_the_actions_of_each_side(
    clinic_doctor, hospital_triage, referral_in
):
    referral = referral_in("submitted")

    doctor = logged_in(clinic_doctor).get(f"/referrals/{referral.pk}/")
    triage = logged_in(hospital_triage).get(f"/referrals/{referral.pk}/")

    assert [e.action for e in doctor.context["events"]] == ["create", "submit"]
    assert set(doctor.context["actions"]) == {"cancel"}
    assert set(triage.context["actions"]) == {"request_info", "accept", "reject", "redirect"}
    assert f'action="/referrals/{referral.pk}/accept/"' in html(triage)
    assert f'action="/referrals/{referral.pk}/accept/"' not in html(doctor)


@pytest.mark.parametrize("page", ["detail", "slip"])
def test_the_identity_number_is_shown_masked_and_never_in_full(
    clinic_doctor, hospital_triage, world, referral_in, page
):
    referral = referral_in("scheduled")

    for user in (clinic_doctor, hospital_triage):
        content = html(logged_in(user).get(page_urls(referral)[page]))
        assert world["patient"].id_number not in content
        assert world["patient"].masked_id_number in content
        assert MASKED_ID.search(content)


def test_the_slip_carries_what_the_patient_needs_at_the_hospital(clinic_doctor, referral_in):
    referral = referral_in("scheduled")

    content = html(logged_in(clinic_doctor).get(f"/referrals/{referral.pk}/slip/"))

    for text in (referral.number, "张伟", "I20.0", "不稳定型心绞痛", "门诊2楼心内科", "临港院区"):
        assert text in content, text


# --- The list and the worklist ------------------------------------------------------------------


def test_an_invalid_list_filter_shows_an_error_not_a_500(clinic_doctor, referral_in):
    referral_in("submitted")

    response = logged_in(clinic_doctor).get(
        "/referrals/", {"status": "bogus", "submitted_after": "not-a-date"}
    )

    assert response.status_code == 200
    assert response.context["filter"].errors


def test_the_list_filters_by_status_and_searches_by_patient(clinic_doctor, referral_in):
    draft = referral_in("draft")
    submitted = referral_in("submitted")
    client = logged_in(clinic_doctor)

    by_status = client.get("/referrals/", {"status": "draft"}).context["object_list"]
    by_name = client.get("/referrals/", {"q": "张伟"}).context["object_list"]
    by_other_name = client.get("/referrals/", {"q": "王强"}).context["object_list"]

    assert list(by_status) == [draft]
    assert set(by_name) == {draft, submitted}
    assert list(by_other_name) == []


def test_the_worklist_shows_only_what_the_receiver_must_act_on(hospital_triage, referral_in, world):
    waiting = referral_in("submitted")
    referral_in("draft")
    referral_in("rejected")
    referral_in("completed")
    accepted = referral_in("accepted")

    listed = logged_in(hospital_triage).get("/referrals/incoming/").context["object_list"]

    assert set(listed) == {waiting, accepted}


def test_the_worklist_lists_emergencies_before_routine_ones(hospital_triage, referral_in):
    routine = referral_in("submitted", urgency="routine")
    urgent = referral_in("submitted", urgency="urgent")
    emergency = referral_in("submitted", urgency="emergency")

    response = logged_in(hospital_triage).get("/referrals/incoming/")

    assert list(response.context["object_list"]) == [emergency, urgent, routine]
    content = html(response)
    positions = [content.index(r.number) for r in (emergency, urgent, routine)]
    assert positions == sorted(positions)


def test_within_one_urgency_the_nearest_deadline_comes_first(hospital_triage, referral_in):
    later = referral_in("submitted", urgency="urgent")
    sooner = referral_in("submitted", urgency="urgent")
    Referral.objects.filter(pk=sooner.pk).update(
        due_at=timezone.now() + datetime.timedelta(minutes=5)
    )

    listed = logged_in(hospital_triage).get("/referrals/incoming/").context["object_list"]

    assert list(listed) == [sooner, later]


# --- New referral -------------------------------------------------------------------------------


def form_data(world, **overrides) -> dict:
    data = {
        "patient": world["patient"].pk,
        "to_institution": world["hospital"].pk,
        "to_department": world["cardiology"].pk,
        "urgency": "urgent",
        "service": "outpatient",
        "exam_type": "",
        "diagnosis_code": "I20.0",
        "diagnosis_text": "不稳定型心绞痛",
        "reason": "反复胸痛，需专科评估",
        "clinical_summary": "胸痛2小时，心电图ST段压低",
        "consent": "on",
        "submit_now": "on",
    } | overrides
    return {k: v for k, v in data.items() if v is not None}


def field_errors(response, field: str) -> list[str]:
    assert response.status_code == 200
    return response.context["form"].errors.get(field, [])


def test_a_bad_icd10_code_shows_a_chinese_field_error_and_keeps_what_was_typed(
    clinic_doctor, world
):
    response = logged_in(clinic_doctor).post(
        "/referrals/new/", form_data(world, diagnosis_code="120.0")
    )

    errors = field_errors(response, "diagnosis_code")
    assert errors and all(CJK.search(e) for e in errors), errors
    content = html(response)
    assert errors[0] in content
    for typed in ("120.0", "不稳定型心绞痛", "反复胸痛，需专科评估", "胸痛2小时，心电图ST段压低"):
        assert typed in content, typed
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reason": None}, "reason"),
        ({"diagnosis_text": ""}, "diagnosis_text"),
        ({"patient": "other_patient"}, "patient"),
        ({"patient": "foreign_patient"}, "patient"),
        ({"to_institution": "foreign_center", "to_department": None}, "to_institution"),
        ({"service": "exam"}, "exam_type"),
        ({"consent": None}, "consent"),  # submitting needs the patient's consent
    ],
)
def test_an_invalid_new_referral_shows_the_field_error_and_writes_nothing(
    clinic_doctor, world, overrides, field
):
    overrides = {k: world[v].pk if v in world else v for k, v in overrides.items()}

    response = logged_in(clinic_doctor).post("/referrals/new/", form_data(world, **overrides))

    errors = field_errors(response, field)
    assert errors, response.context["form"].errors
    assert all(CJK.search(e) for e in errors), errors
    assert "反复胸痛" in html(response) or field == "reason"
    assert not Referral.objects.exists()


def test_a_required_field_error_is_in_chinese(clinic_doctor, world):
    response = logged_in(clinic_doctor).post("/referrals/new/", form_data(world, reason=None))

    assert field_errors(response, "reason") == ["该字段是必填项。"]


def test_a_valid_new_referral_is_submitted_and_opens_its_detail(
    clinic_doctor, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(clinic_doctor).post("/referrals/new/", form_data(world), follow=True)

    referral = Referral.objects.get()
    assert response.redirect_chain == [(f"/referrals/{referral.pk}/", 302)]
    assert referral.status == "submitted" and referral.referring_user == clinic_doctor
    assert messages_of(response) == [("success", f"转诊 {referral.number} 已提交。")]


def test_a_new_referral_without_submit_now_is_kept_as_a_draft(clinic_doctor, world):
    response = logged_in(clinic_doctor).post(
        "/referrals/new/", form_data(world, submit_now=None, consent=None), follow=True
    )

    referral = Referral.objects.get()
    assert referral.status == "draft"
    assert response.redirect_chain[-1][0] == f"/referrals/{referral.pk}/"
    assert messages_of(response)[0][0] == "info"


def test_the_new_referral_form_offers_only_visible_patients_and_alliance_targets(
    clinic_doctor, world
):
    form = logged_in(clinic_doctor).get("/referrals/new/").context["form"]

    assert set(form.fields["patient"].queryset) == {world["patient"], world["station_patient"]}
    targets = set(form.fields["to_institution"].queryset)
    assert world["hospital"] in targets and world["other_center"] in targets
    assert world["center"] not in targets and world["foreign_center"] not in targets


def test_finding_a_patient_by_name_phone_or_identity_number(clinic_doctor, world):
    client = logged_in(clinic_doctor)
    patient = world["patient"]

    for query in ("张伟", patient.phone, patient.id_number.lower()):
        found = client.get("/referrals/new/", {"find": query}).context["form"]
        assert list(found.fields["patient"].queryset) == [patient], query
    hidden = client.get("/referrals/new/", {"find": "王强"}).context["form"]
    assert list(hidden.fields["patient"].queryset) == []


def test_the_search_box_posts_so_an_identity_number_stays_out_of_the_address(clinic_doctor, world):
    client = logged_in(clinic_doctor)
    patient = world["patient"]
    page = client.get("/referrals/new/").content.decode()
    assert '<form method="post" class="card card-body mb-3" role="search">' in page
    response = client.post("/referrals/new/", {"find": patient.id_number})
    assert response.status_code == 200
    assert list(response.context["form"].fields["patient"].queryset) == [patient]
    assert not response.context["form"].is_bound  # a search, not a referral: no field errors
    html = response.content.decode()
    assert f'href="?patient={patient.pk}"' in html
    assert patient.id_number not in " ".join(re.findall(r'(?:href|action)="[^"]*"', html))
    # The match's link shows the form with that patient among the choices.
    picked = client.get("/referrals/new/", {"patient": patient.pk}).context["form"]
    assert patient in picked.fields["patient"].queryset
    assert picked.initial["patient"] == str(patient.pk)


def test_choosing_a_patient_shows_the_nearest_capable_institutions(clinic_doctor, world):
    world["center"].latitude, world["center"].longitude = "30.900000", "121.900000"
    world["center"].save()
    world["hospital"].latitude, world["hospital"].longitude = "30.920000", "121.900000"
    world["hospital"].save()

    response = logged_in(clinic_doctor).get("/referrals/new/", {"patient": world["patient"].pk})

    targets = response.context["targets"]
    assert [t.institution for t in targets] == [world["hospital"]]
    assert "2.2 km" in html(response)


# --- The action buttons -------------------------------------------------------------------------


def test_an_illegal_action_shows_an_error_and_changes_nothing(hospital_triage, referral_in):
    referral = referral_in("accepted")
    before = snapshot(referral)

    response = logged_in(hospital_triage).post(
        f"/referrals/{referral.pk}/accept/", {"accept-note": ""}, follow=True
    )

    assert response.redirect_chain == [(f"/referrals/{referral.pk}/", 302)]
    [(level, text)] = messages_of(response)
    assert level == "error" and CJK.search(text), text
    assert snapshot(referral) == before


def test_the_sender_pressing_accept_gets_an_error_and_changes_nothing(clinic_doctor, referral_in):
    referral = referral_in("submitted")
    before = snapshot(referral)

    response = logged_in(clinic_doctor).post(f"/referrals/{referral.pk}/accept/", {}, follow=True)

    assert [level for level, _ in messages_of(response)] == ["error"]
    assert snapshot(referral) == before


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("reject", {"reject-reason": "没有选择原因"}),
        ("request_info", {"request_info-note": ""}),
        ("schedule", {"schedule-appointment_at": "明天", "schedule-place": "门诊"}),
        ("cancel", {"cancel-reason": ""}),
    ],
)
def test_an_incomplete_action_form_shows_an_error_and_changes_nothing(
    clinic_doctor, hospital_triage, referral_in, action, data
):
    referral = referral_in("accepted" if action == "schedule" else "submitted")
    before = snapshot(referral)
    user = clinic_doctor if action == "cancel" else hospital_triage

    response = logged_in(user).post(f"/referrals/{referral.pk}/{action}/", data, follow=True)

    [(level, text)] = messages_of(response)
    assert level == "error" and text
    assert snapshot(referral) == before


def test_an_unknown_action_is_a_404(hospital_triage, referral_in):
    referral = referral_in("submitted")

    response = logged_in(hospital_triage).post(f"/referrals/{referral.pk}/approve/", {})

    assert response.status_code == 404


def test_an_action_url_does_not_answer_get(hospital_triage, referral_in):
    referral = referral_in("submitted")

    response = logged_in(hospital_triage).get(f"/referrals/{referral.pk}/accept/")

    assert response.status_code == 405
    referral.refresh_from_db()
    assert referral.status == "submitted"


def test_accepting_changes_the_state_and_redirects_with_a_success_message(
    hospital_triage, referral_in
):
    referral = referral_in("submitted")

    response = logged_in(hospital_triage).post(
        f"/referrals/{referral.pk}/accept/", {"accept-note": "请直接到胸痛中心"}, follow=True
    )

    assert response.redirect_chain == [(f"/referrals/{referral.pk}/", 302)]
    referral.refresh_from_db()
    assert referral.status == "accepted"
    assert referral.events.latest("pk").note == "请直接到胸痛中心"
    [(level, text)] = messages_of(response)
    assert level == "success" and referral.number in text and CJK.search(text)
    assert text in response.content.decode()


def test_rejecting_stores_the_chosen_reason_in_chinese(hospital_triage, referral_in):
    referral = referral_in("submitted")

    logged_in(hospital_triage).post(
        f"/referrals/{referral.pk}/reject/",
        {"reject-reason_code": "no_capacity", "reject-reason": "本周床位已满"},
    )

    referral.refresh_from_db()
    assert referral.status == "rejected"
    assert referral.status_note.endswith("本周床位已满")
    assert CJK.search(referral.status_note.split("：")[0])


def test_scheduling_from_the_detail_page(hospital_triage, referral_in):
    referral = referral_in("accepted")

    logged_in(hospital_triage).post(
        f"/referrals/{referral.pk}/schedule/",
        {"schedule-appointment_at": "2099-01-05T09:30", "schedule-place": "门诊2楼"},
    )

    referral.refresh_from_db()
    assert (referral.status, referral.appointment_place) == ("scheduled", "门诊2楼")


def test_redirecting_from_the_detail_page(hospital_triage, referral_in, world):
    referral = referral_in("submitted")

    logged_in(hospital_triage).post(
        f"/referrals/{referral.pk}/redirect/", {"redirect-to_institution": world["other_center"].pk}
    )

    referral.refresh_from_db()
    assert (referral.status, referral.to_institution) == ("submitted", world["other_center"])


def test_cancelling_from_the_detail_page(clinic_doctor, referral_in):
    referral = referral_in("submitted")

    logged_in(clinic_doctor).post(
        f"/referrals/{referral.pk}/cancel/", {"cancel-reason": "患者拒绝转诊"}
    )

    referral.refresh_from_db()
    assert (referral.status, referral.status_note) == ("cancelled", "患者拒绝转诊")


def test_refer_back_opens_the_downward_draft(hospital_triage, referral_in):
    upward = referral_in("completed")

    response = logged_in(hospital_triage).post(f"/referrals/{upward.pk}/refer_back/", follow=True)

    back = Referral.objects.get(returns_referral=upward)
    assert response.redirect_chain == [(f"/referrals/{back.pk}/", 302)]
    assert (back.status, back.direction) == ("draft", "down")


# --- The inbox ----------------------------------------------------------------------------------


def test_the_inbox_shows_a_new_referral_and_marks_it_read(
    clinic_doctor, hospital_triage, world, referral_in, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        referral = referral_in("submitted")
    client = logged_in(hospital_triage)
    unread = re.compile(r"badge-notification[^>]*>\s*1\s*<")  # the count in the header
    assert unread.search(html(client.get("/referrals/")))

    content = html(client.get("/notifications/"))

    assert referral.number in content
    assert not Notification.objects.filter(recipient=hospital_triage, read_at__isnull=True)
    assert "badge-notification" not in html(client.get("/referrals/"))


def test_nobody_reads_anyone_elses_inbox(
    hospital_triage, world, referral_in, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        referral = referral_in("submitted")
    neighbour = staff_user(Role.COMMUNITY_STAFF, world["other_center"], username="neighbour")

    content = html(logged_in(neighbour).get("/notifications/"))

    assert referral.number not in content


# --- Query counts -------------------------------------------------------------------------------


def more_referrals(referral_in, n: int) -> None:
    for i in range(n):
        referral_in(
            ["submitted", "accepted", "scheduled"][i % 3],
            urgency=["routine", "urgent", "emergency"][i % 3],
        )


@pytest.mark.parametrize(
    ("url", "persona", "limit", "page_size"),
    [
        # session, user, profile, the ids of the user's institutions (for the rows, the
        # worklist and the overdue count: once each), page count, overdue count, unread count,
        # the user's institution, the page
        ("/referrals/incoming/", "hospital_triage", 15, 50),
        ("/referrals/incoming/", "alliance_office", 13, 50),  # the office: all of the alliance
        ("/referrals/", "clinic_doctor", 9, 25),  # 8 + the page's access-log row
    ],
)
def test_lists_make_the_same_number_of_queries_for_5_and_for_40_referrals(
    referral_in, request, django_assert_max_num_queries, url, persona, limit, page_size
):
    client = logged_in(request.getfixturevalue(persona))
    more_referrals(referral_in, 5)
    with django_assert_max_num_queries(limit) as few:
        first = client.get(url)
    more_referrals(referral_in, 35)
    with django_assert_max_num_queries(limit) as more:
        second = client.get(url)

    assert len(first.context["object_list"]) == 5
    assert len(second.context["object_list"]) == min(40, page_size)
    assert len(more) == len(few)


def test_the_office_sets_response_limits_and_new_submissions_use_them(
    alliance_office, clinic_doctor, make_referral, browser_client
):
    from referrals import services as referral_services

    browser_client.force_login(alliance_office)
    form = {
        "emergency_minutes": 10,
        "emergency_expire": 30,
        "urgent_minutes": 120,
        "urgent_expire": 600,
        "routine_minutes": 1440,
        "routine_expire": 2880,
    }
    assert browser_client.post("/referrals/limits/", form).status_code == 302
    referral = referral_services.referral_submit(actor=clinic_doctor, referral=make_referral())
    assert (referral.due_at - referral.submitted_at).total_seconds() == 120 * 60  # urgent


@pytest.mark.parametrize("minutes", ["0", "-5", "abc", "99999999"])
def test_a_bad_limit_is_a_field_error_and_nothing_changes(alliance_office, browser_client, minutes):
    from referrals.models import ResponseLimit

    browser_client.force_login(alliance_office)
    form = {
        "emergency_minutes": minutes,
        "emergency_expire": 30,
        "urgent_minutes": 120,
        "urgent_expire": 600,
        "routine_minutes": 1440,
        "routine_expire": 2880,
    }
    response = browser_client.post("/referrals/limits/", form)
    assert response.status_code == 200
    assert response.context["form"].errors["emergency_minutes"]
    assert not ResponseLimit.objects.exists()


def test_only_the_office_sets_limits(clinic_doctor, hospital_triage, browser_client):
    for user in (clinic_doctor, hospital_triage):
        browser_client.force_login(user)
        assert browser_client.get("/referrals/limits/").status_code == 403


def test_the_worklist_shows_overdue_referrals_first_and_those_to_refer_back(
    hospital_triage, clinic_doctor, make_referral, browser_client
):
    import datetime

    from django.utils import timezone

    from referrals import services as referral_services
    from referrals.models import Referral

    late = referral_services.referral_submit(actor=clinic_doctor, referral=make_referral())
    Referral.objects.filter(pk=late.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    done = referral_services.referral_submit(actor=clinic_doctor, referral=make_referral())
    done = referral_services.referral_accept(actor=hospital_triage, referral=done)
    done = referral_services.referral_arrive(actor=hospital_triage, referral=done)
    referral_services.referral_complete(
        actor=hospital_triage, referral=done, outcome="outpatient", summary="好转"
    )
    browser_client.force_login(hospital_triage)
    response = browser_client.get("/referrals/incoming/")
    assert [r.pk for r in response.context["overdue_referrals"]] == [late.pk]
    to_send = browser_client.get("/referrals/to-refer-back/")
    assert [r.pk for r in to_send.context["object_list"]] == [done.pk]
    back, _ = referral_services.referral_refer_back(actor=hospital_triage, referral=done)
    assert list(browser_client.get("/referrals/to-refer-back/").context["object_list"]) == []


def test_one_click_accept_from_the_worklist(
    hospital_triage, clinic_doctor, make_referral, browser_client
):
    from referrals import services as referral_services

    referral = referral_services.referral_submit(actor=clinic_doctor, referral=make_referral())
    browser_client.force_login(hospital_triage)
    page = browser_client.get("/referrals/incoming/").content.decode()
    assert f"/referrals/{referral.pk}/accept/" in page
    response = browser_client.post(f"/referrals/{referral.pk}/accept/", {"accept-note": ""})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "accepted"


def test_only_the_office_sees_the_response_limits_link(
    alliance_office, clinic_doctor, browser_client
):
    browser_client.force_login(alliance_office)
    assert "/referrals/limits/" in browser_client.get("/").content.decode()
    browser_client.force_login(clinic_doctor)
    assert "/referrals/limits/" not in browser_client.get("/").content.decode()
