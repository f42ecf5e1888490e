"""The referral API: create, idempotent retries, every transition, who may do what, the list,
the timeline, target suggestions, notifications after commit and query counts.

Unhappy paths first in each section. The JSON names are the ones issue 3 promises other systems
(keep them exactly); a referral the user may not see is a 404, one they may see but not change a
403, a wrong state a 409, and every error is JSON with a `detail`.
"""

import datetime
import json
import re

import pytest
from django.core import mail
from django.utils import timezone

from alliance.choices import InstitutionKind, Role, Specialty
from alliance.models import Notification
from referrals import services
from referrals.models import DailyCounter, Referral, ReferralEvent
from tests.kit.factories import (
    AllianceFactory,
    DepartmentFactory,
    HospitalFactory,
    InstitutionFactory,
    MembershipFactory,
    UserFactory,
    staff_user,
)
from tests.referrals.conftest import payload

pytestmark = pytest.mark.django_db

URL = "/api/v1/referrals/"
MASKED_ID = re.compile(r"^\d{6}\*{8}[\dX]{4}$")
NUMBER = re.compile(r"^ZZ-\d{8}-\d{4}$")
# The names issue 3 lists for a referral as returned; "plus the rest" may follow.
DOCUMENTED = {
    "id",
    "number",
    "status",
    "direction",
    "urgency",
    "service",
    "patient",
    "from_institution",
    "to_institution",
    "to_department",
    "due_at",
    "created_at",
    "submitted_at",
}


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"]
    return body


def assert_field_error(response, field: str) -> dict:
    """A 400 that names the field in the message, at the top level and under `errors`."""
    body = assert_json_error(response, 400)
    assert field in body["errors"], body
    assert body[field] == body["errors"][field]
    assert body["detail"].startswith(f"{field}: ") or len(body["errors"]) > 1
    return body


def url_of(referral, action: str = "") -> str:
    return f"{URL}{referral.pk}/{action + '/' if action else ''}"


def snapshot(referral) -> tuple:
    """What a refused request must leave alone."""
    referral.refresh_from_db()
    return (
        referral.status,
        referral.to_institution_id,
        referral.status_note,
        ReferralEvent.objects.filter(referral=referral).count(),
        Referral.objects.count(),
    )


@pytest.fixture
def client_for(api):
    """A separate API client per user, so two people can take turns in one test."""
    return lambda user: type(api)().as_user(user)


@pytest.fixture
def sender(client_for, clinic_doctor):
    return client_for(clinic_doctor)


@pytest.fixture
def receiver(client_for, hospital_triage):
    return client_for(hospital_triage)


@pytest.fixture
def other_department(world):
    """A department of the alliance's other centre that takes referrals (a redirect target)."""
    return DepartmentFactory(
        institution=world["other_center"], name="全科门诊", specialty=Specialty.GENERAL_PRACTICE
    )


@pytest.fixture
def foreign_referral(world):
    """A referral between two institutions of another alliance: nobody here may see it."""
    foreign_hospital = HospitalFactory(name="联盟外三级医院", district=world["fengxian"])
    elsewhere = AllianceFactory(name="奉贤医联体", lead_institution=foreign_hospital)
    MembershipFactory(alliance=elsewhere, institution=foreign_hospital)
    MembershipFactory(alliance=elsewhere, institution=world["foreign_center"])
    doctor = staff_user(Role.COMMUNITY_STAFF, world["foreign_center"], username="foreign_doc")
    referral, _ = services.referral_create(
        actor=doctor,
        patient=world["foreign_patient"],
        to_institution=foreign_hospital,
        diagnosis_code="I10",
        diagnosis_text="高血压",
        reason="血压控制不佳",
        consent=True,
        submit=True,
    )
    return referral


# --- Create: refusals ---------------------------------------------------------------------------


CREATE_ERRORS = {
    "a malformed ICD-10 code": (lambda w: {"diagnosis_code": "120.0"}, "diagnosis_code"),
    "a Chinese word as the code": (lambda w: {"diagnosis_code": "胸痛"}, "diagnosis_code"),
    "no reason": (lambda w: {"reason": None}, "reason"),
    "a blank reason": (lambda w: {"reason": ""}, "reason"),
    "a patient of another centre": (lambda w: {"patient": w["other_patient"].pk}, "patient"),
    "a patient outside the alliance": (lambda w: {"patient": w["foreign_patient"].pk}, "patient"),
    "an unknown patient": (lambda w: {"patient": 999999}, "patient"),
    "a target outside the alliance": (
        lambda w: {"to_institution": w["foreign_center"].pk, "to_department": None},
        "to_institution",
    ),
    "the own institution as target": (
        lambda w: {"to_institution": w["center"].pk, "to_department": None},
        "to_institution",
    ),
    "a department of another institution": (
        lambda w: {"to_institution": w["other_center"].pk},
        "to_department",
    ),
    "an exam without its type": (lambda w: {"service": "exam"}, "exam_type"),
    "an unknown urgency": (lambda w: {"urgency": "asap"}, "urgency"),
    "submit without consent": (lambda w: {"consent": False, "submit": True}, "consent"),
}


@pytest.mark.parametrize("case", CREATE_ERRORS, ids=list(CREATE_ERRORS))
def test_creating_with_an_invalid_field_is_a_400_naming_it_and_writes_nothing(sender, world, case):
    overrides, field = CREATE_ERRORS[case]
    data = payload(world, **overrides(world))
    data = {k: v for k, v in data.items() if v is not None}

    response = sender.post(URL, data, format="json")

    assert_field_error(response, field)
    assert not Referral.objects.exists()
    assert not ReferralEvent.objects.exists()
    assert not DailyCounter.objects.filter(last__gt=0).exists()


def test_a_field_error_is_in_the_users_language(sender, world):
    data = {k: v for k, v in payload(world).items() if k != "reason"}

    response = sender.post(URL, data, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")

    body = assert_field_error(response, "reason")
    assert body["reason"] == ["该字段是必填项。"]


def test_the_invisible_patient_error_does_not_disclose_the_patient(sender, world):
    response = sender.post(URL, payload(world, patient=world["other_patient"].pk), format="json")

    text = json.dumps(assert_field_error(response, "patient"), ensure_ascii=False)
    assert world["other_patient"].name not in text
    assert world["other_center"].name not in text


def test_a_malformed_json_body_is_a_400_json(sender, world):
    response = sender.post(URL, data="{not json", content_type="application/json")

    assert_json_error(response, 400)
    assert not Referral.objects.exists()


# --- Create: the happy paths --------------------------------------------------------------------


def test_creating_a_draft_answers_201_with_the_documented_names(sender, world):
    response = sender.post(URL, payload(world), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= DOCUMENTED
    referral = Referral.objects.get()
    assert body["id"] == referral.pk
    assert NUMBER.match(body["number"]) and body["number"] == referral.number
    assert (body["status"], body["direction"], body["urgency"], body["service"]) == (
        "draft",
        "up",
        "urgent",
        "outpatient",
    )
    assert body["from_institution"] == world["center"].pk
    assert body["to_institution"] == world["hospital"].pk
    assert body["to_department"] == world["cardiology"].pk
    assert body["submitted_at"] is None and body["due_at"] is None
    assert body["created_at"]
    assert body["patient"]["id"] == world["patient"].pk
    assert MASKED_ID.match(body["patient"]["id_number"])


def test_the_full_identity_number_never_leaves_the_api(sender, world):
    created = sender.post(URL, payload(world), format="json")
    listed = sender.get(URL)
    retrieved = sender.get(f"{URL}{created.json()['id']}/")

    for response in (created, listed, retrieved):
        assert world["patient"].id_number not in response.content.decode()


def test_creating_with_submit_true_submits_at_once(sender, world):
    response = sender.post(URL, payload(world, submit=True), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "submitted"
    submitted_at = datetime.datetime.fromisoformat(body["submitted_at"])
    due_at = datetime.datetime.fromisoformat(body["due_at"])
    assert due_at - submitted_at == datetime.timedelta(hours=4)  # urgent: 4 hours by default
    actions = list(Referral.objects.get().events.values_list("action", flat=True))
    assert actions == ["create", "submit"]


def test_an_exam_referral_to_another_centre_keeps_its_type_and_is_lateral(sender, world):
    """Two community centres are of one tier: an exam referral between them is lateral (the
    direction is derived; the client may say it, and must say the derived one)."""
    response = sender.post(
        URL,
        payload(
            world,
            to_institution=world["other_center"].pk,
            to_department=None,
            service="exam",
            exam_type="cardiac_ultrasound",
            direction="lateral",
        ),
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["service"], body["exam_type"], body["direction"]) == (
        "exam",
        "cardiac_ultrasound",
        "lateral",
    )


# --- Idempotency-Key ----------------------------------------------------------------------------


def test_a_key_over_64_characters_is_a_400_and_writes_nothing(sender, world):
    response = sender.post(
        URL, payload(world, submit=True), format="json", HTTP_IDEMPOTENCY_KEY="k" * 65
    )

    assert_field_error(response, "Idempotency-Key")
    assert not Referral.objects.exists()


def test_a_key_of_exactly_64_characters_is_accepted(sender, world):
    response = sender.post(URL, payload(world), format="json", HTTP_IDEMPOTENCY_KEY="k" * 64)

    assert response.status_code == 201, response.content


def test_the_same_key_twice_creates_one_referral(sender, world):
    first = sender.post(
        URL, payload(world, submit=True), format="json", HTTP_IDEMPOTENCY_KEY="retry-0001"
    )
    again = sender.post(
        URL, payload(world, submit=True), format="json", HTTP_IDEMPOTENCY_KEY="retry-0001"
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["number"] == again.json()["number"]
    assert Referral.objects.count() == 1
    assert ReferralEvent.objects.filter(action="submit").count() == 1


def test_a_refused_request_does_not_use_up_its_key(sender, world):
    key = {"HTTP_IDEMPOTENCY_KEY": "retry-0002"}
    refused = sender.post(URL, payload(world, consent=False, submit=True), format="json", **key)

    corrected = sender.post(URL, payload(world, submit=True), format="json", **key)

    assert (refused.status_code, corrected.status_code) == (400, 201)
    assert corrected.json()["status"] == "submitted"


def test_the_same_key_from_two_users_creates_two_referrals(api, sender, world):
    colleague = staff_user(Role.COMMUNITY_STAFF, world["center"], username="clinic_nurse")

    first = sender.post(URL, payload(world), format="json", HTTP_IDEMPOTENCY_KEY="shared-key")
    second = api.as_user(colleague).post(
        URL, payload(world), format="json", HTTP_IDEMPOTENCY_KEY="shared-key"
    )

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert Referral.objects.count() == 2


def test_without_a_key_two_posts_create_two_referrals(sender, world):
    sender.post(URL, payload(world), format="json")
    sender.post(URL, payload(world), format="json")

    assert Referral.objects.count() == 2


# --- Editing a draft ----------------------------------------------------------------------------


def test_patching_with_a_bad_icd10_code_is_a_400_and_changes_nothing(sender, referral_in):
    referral = referral_in("draft")

    response = sender.patch(url_of(referral), {"diagnosis_code": "XYZ"}, format="json")

    assert_field_error(response, "diagnosis_code")
    referral.refresh_from_db()
    assert referral.diagnosis_code == "I20.0"


def test_patching_a_submitted_referral_conflicts(sender, referral_in):
    referral = referral_in("submitted")

    response = sender.patch(url_of(referral), {"reason": "改"}, format="json")

    assert assert_json_error(response, 409)["code"] == "illegal_transition"
    referral.refresh_from_db()
    assert referral.reason != "改"


def test_status_is_not_writable_through_patch(sender, referral_in):
    referral = referral_in("draft")

    response = sender.patch(
        url_of(referral), {"status": "completed", "reason": "补充说明"}, format="json"
    )

    assert response.status_code == 200, response.content
    referral.refresh_from_db()
    assert (referral.status, referral.reason) == ("draft", "补充说明")


@pytest.mark.parametrize("method", ["put", "delete"])
def test_referrals_cannot_be_replaced_or_deleted(sender, referral_in, method):
    referral = referral_in("draft")

    response = getattr(sender, method)(
        url_of(referral), {"status": "completed", "reason": referral.reason}, format="json"
    )

    assert_json_error(response, 405)
    referral.refresh_from_db()
    assert referral.status == "draft"


def test_patching_a_draft_edits_it_and_records_the_change(sender, referral_in, world):
    referral = referral_in("draft")

    response = sender.patch(
        url_of(referral),
        {"clinical_summary": "肌钙蛋白升高", "urgency": "emergency"},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["clinical_summary"], body["urgency"]) == ("肌钙蛋白升高", "emergency")
    assert body["priority_reception"] is True  # emergencies get priority reception
    assert referral.events.latest("pk").action == "edit"


# --- Transitions: refusals ----------------------------------------------------------------------


MISSING_BODY = [
    ("reject", "submitted", "hospital_triage", {"note": "无床位"}, {"reason"}),
    ("request_info", "submitted", "hospital_triage", {}, {"note"}),
    ("request_info", "submitted", "hospital_triage", {"note": ""}, {"note"}),
    ("redirect", "submitted", "hospital_triage", {}, {"to_institution"}),
    ("schedule", "accepted", "hospital_triage", {"place": "门诊"}, {"appointment_at"}),
    ("schedule", "accepted", "hospital_triage", {"appointment_at": "tomorrow"}, {"appointment_at"}),
    ("complete", "arrived", "hospital_triage", {"summary": "好转"}, {"outcome"}),
    (
        "complete",
        "arrived",
        "hospital_triage",
        {"outcome": "cured", "summary": "好转"},
        {"outcome"},
    ),
    ("complete", "arrived", "hospital_triage", {"outcome": "admitted"}, {"summary"}),
    ("cancel", "submitted", "clinic_doctor", {"note": "患者拒绝"}, {"reason"}),
]


@pytest.mark.parametrize(("action", "state", "actor", "data", "fields"), MISSING_BODY)
def test_an_action_without_its_body_names_is_a_400_and_changes_nothing(
    api, referral_in, request, action, state, actor, data, fields
):
    referral = referral_in(state)
    before = snapshot(referral)

    response = api.as_user(request.getfixturevalue(actor)).post(
        url_of(referral, action), data, format="json"
    )

    body = assert_json_error(response, 400)
    assert fields <= set(body["errors"]), body
    assert snapshot(referral) == before


def test_redirecting_outside_the_alliance_is_a_400_naming_to_institution(
    receiver, referral_in, world
):
    referral = referral_in("submitted")
    before = snapshot(referral)

    response = receiver.post(
        url_of(referral, "redirect"), {"to_institution": world["foreign_center"].pk}, format="json"
    )

    assert_field_error(response, "to_institution")
    assert snapshot(referral) == before


def test_scheduling_before_the_referral_was_submitted_is_a_400(receiver, referral_in):
    referral = referral_in("accepted")
    before = snapshot(referral)
    earlier = referral.submitted_at - datetime.timedelta(days=1)

    response = receiver.post(
        url_of(referral, "schedule"),
        {"appointment_at": earlier.isoformat(), "place": "门诊"},
        format="json",
    )

    assert_field_error(response, "appointment_at")
    assert snapshot(referral) == before


WRONG_STATE = [
    ("accepted", "accept", "hospital_triage", {}),
    ("info_requested", "accept", "hospital_triage", {}),
    ("completed", "cancel", "clinic_doctor", {"reason": "患者拒绝"}),
    ("arrived", "cancel", "clinic_doctor", {"reason": "患者拒绝"}),
    ("rejected", "accept", "hospital_triage", {}),
    ("cancelled", "submit", "clinic_doctor", {}),
    ("submitted", "complete", "hospital_triage", {"outcome": "admitted", "summary": "好转"}),
    ("submitted", "arrive", "hospital_triage", {}),  # routine: not before acceptance
    ("scheduled", "request_info", "hospital_triage", {"note": "请补充"}),
    ("accepted", "no_show", "hospital_triage", {}),
    ("submitted", "refer_back", "hospital_triage", {}),
]


@pytest.mark.parametrize(("state", "action", "actor", "data"), WRONG_STATE)
def test_an_action_in_the_wrong_state_is_a_409_json_and_changes_nothing(
    api, referral_in, request, state, action, actor, data
):
    referral = referral_in(state)
    before = snapshot(referral)

    response = api.as_user(request.getfixturevalue(actor)).post(
        url_of(referral, action), data, format="json"
    )

    body = assert_json_error(response, 409)
    assert body["code"] == "illegal_transition"
    assert snapshot(referral) == before


def test_accepting_twice_conflicts(receiver, referral_in):
    referral = referral_in("submitted")

    first = receiver.post(url_of(referral, "accept"), {}, format="json")
    second = receiver.post(url_of(referral, "accept"), {}, format="json")

    assert first.status_code == 200
    assert_json_error(second, 409)
    assert referral.events.filter(action="accept").count() == 1


def test_a_no_show_before_the_appointment_has_passed_conflicts(receiver, referral_in):
    referral = referral_in("scheduled")  # tomorrow
    before = snapshot(referral)

    response = receiver.post(url_of(referral, "no_show"), {}, format="json")

    assert_json_error(response, 409)
    assert snapshot(referral) == before


NOT_ALLOWED = [
    ("submitted", "accept", "clinic_doctor", {}),
    ("submitted", "reject", "clinic_doctor", {"reason": "x"}),
    ("submitted", "cancel", "hospital_triage", {"reason": "x"}),
    ("info_requested", "submit", "hospital_triage", {}),
    ("completed", "refer_back", "clinic_doctor", {}),
]


@pytest.mark.parametrize(("state", "action", "actor", "data"), NOT_ALLOWED)
def test_a_visible_referral_the_user_may_not_change_is_a_403_json(
    api, referral_in, request, state, action, actor, data
):
    referral = referral_in(state)
    before = snapshot(referral)

    response = api.as_user(request.getfixturevalue(actor)).post(
        url_of(referral, action), data, format="json"
    )

    assert assert_json_error(response, 403)["code"] == "not_allowed"
    assert snapshot(referral) == before


def test_the_receiver_does_not_see_a_draft_at_all(receiver, referral_in):
    referral = referral_in("draft")

    response = receiver.patch(url_of(referral), {"reason": "改"}, format="json")

    assert_json_error(response, 404)
    assert_json_error(receiver.get(url_of(referral)), 404)
    referral.refresh_from_db()
    assert referral.reason != "改"


OUTSIDER_REQUESTS = [
    ("get", ""),
    ("get", "events"),
    ("patch", ""),
    ("post", "accept"),
    ("post", "cancel"),
    ("post", "redirect"),
    ("post", "submit"),
]


@pytest.mark.parametrize(("method", "action"), OUTSIDER_REQUESTS)
def test_a_third_institution_gets_a_404_json_that_discloses_nothing(
    api, outsider_clinic_user, referral_in, world, method, action
):
    referral = referral_in("submitted")
    before = snapshot(referral)

    response = getattr(api.as_user(outsider_clinic_user), method)(
        url_of(referral, action),
        {"reason": "x", "to_institution": world["other_center"].pk},
        format="json",
    )

    body = assert_json_error(response, 404)
    text = json.dumps(body, ensure_ascii=False)
    assert referral.number not in text and world["patient"].name not in text
    assert snapshot(referral) == before


@pytest.mark.parametrize(
    "persona", ["clinic_doctor", "hospital_triage", "alliance_office"], indirect=True
)
@pytest.mark.parametrize("action", ["", "events", "accept"])
def test_a_referral_of_another_alliance_is_a_404_for_everyone_here(
    api, persona, foreign_referral, action
):
    method = "post" if action == "accept" else "get"

    response = getattr(api.as_user(persona), method)(url_of(foreign_referral, action))

    assert_json_error(response, 404)
    foreign_referral.refresh_from_db()
    assert foreign_referral.status == "submitted"


@pytest.mark.parametrize("pk", ["999999", "99999999999999999999", "abc", "1.5", "-1"])
@pytest.mark.parametrize("action", ["", "events", "accept"])
def test_unknown_and_non_numeric_ids_are_404_json(sender, world, pk, action):
    method = "post" if action == "accept" else "get"

    response = getattr(sender, method)(f"{URL}{pk}/{action + '/' if action else ''}")

    assert_json_error(response, 404)


# --- Transitions: the happy paths ---------------------------------------------------------------


def later(hours: int) -> str:
    return (timezone.now() + datetime.timedelta(hours=hours)).isoformat()


TRANSITIONS = {
    "submit with a note": ("draft", "submit", "clinic_doctor", {"note": "已补充资料"}, "submitted"),
    "submit without a body": ("draft", "submit", "clinic_doctor", {}, "submitted"),
    "resubmit after a request": ("info_requested", "submit", "clinic_doctor", {}, "submitted"),
    "request_info": (
        "submitted",
        "request_info",
        "hospital_triage",
        {"note": "请补充心肌酶结果"},
        "info_requested",
    ),
    "accept with a note": (
        "submitted",
        "accept",
        "hospital_triage",
        {"note": "请直接到胸痛中心"},
        "accepted",
    ),
    "accept without a body": ("submitted", "accept", "hospital_triage", {}, "accepted"),
    "reject": ("submitted", "reject", "hospital_triage", {"reason": "无床位"}, "rejected"),
    "redirect": ("submitted", "redirect", "hospital_triage", "redirect", "submitted"),
    "schedule": (
        "accepted",
        "schedule",
        "hospital_triage",
        {"appointment_at": later(20), "place": "门诊2楼心内科"},
        "scheduled",
    ),
    "reschedule": (
        "scheduled",
        "schedule",
        "hospital_triage",
        {"appointment_at": later(30), "place": "门诊3楼"},
        "scheduled",
    ),
    "arrive with a note": ("scheduled", "arrive", "hospital_triage", {"note": "已到院"}, "arrived"),
    "arrive without a body": ("accepted", "arrive", "hospital_triage", {}, "arrived"),
    "complete": (
        "arrived",
        "complete",
        "hospital_triage",
        {"outcome": "admitted", "summary": "PCI术后病情稳定"},
        "completed",
    ),
    "cancel a submitted one": (
        "submitted",
        "cancel",
        "clinic_doctor",
        {"reason": "患者拒绝转诊"},
        "cancelled",
    ),
    "cancel a draft": ("draft", "cancel", "clinic_doctor", {"reason": "录入错误"}, "cancelled"),
    "cancel a scheduled one": (
        "scheduled",
        "cancel",
        "clinic_doctor",
        {"reason": "患者改约"},
        "cancelled",
    ),
    "no_show": ("no_show_due", "no_show", "hospital_triage", {}, "no_show"),
}


@pytest.mark.parametrize("case", TRANSITIONS, ids=list(TRANSITIONS))
def test_each_action_moves_the_referral_and_answers_with_it(
    api, referral_in, request, world, other_department, case
):
    state, action, actor, data, target = TRANSITIONS[case]
    if state == "no_show_due":
        referral = referral_in("scheduled", appointment_passed=True)
    else:
        referral = referral_in(state)
    if data == "redirect":
        data = {"to_institution": world["other_center"].pk, "to_department": other_department.pk}

    response = api.as_user(request.getfixturevalue(actor)).post(
        url_of(referral, action), data, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= DOCUMENTED
    assert (body["id"], body["status"]) == (referral.pk, target)
    referral.refresh_from_db()
    assert referral.status == target
    event = referral.events.latest("pk")
    assert (event.action, event.to_status) == (action, target)
    note = data.get("note") or data.get("reason") or data.get("summary") or ""
    assert event.note == note
    effects = {
        "request_info": lambda: body["status_note"] == data["note"],
        "reject": lambda: body["status_note"] == data["reason"] and body["closed_at"],
        "cancel": lambda: body["status_note"] == data["reason"] and body["closed_at"],
        "redirect": lambda: (
            (body["to_institution"], body["to_department"], body["direction"])
            == (world["other_center"].pk, other_department.pk, "lateral")
        ),
        "schedule": lambda: (
            body["appointment_place"] == data["place"]
            and datetime.datetime.fromisoformat(body["appointment_at"])
            == datetime.datetime.fromisoformat(data["appointment_at"])
        ),
        "arrive": lambda: body["arrived_at"] is not None,
        "complete": lambda: (
            (body["outcome"], body["outcome_summary"]) == ("admitted", "PCI术后病情稳定")
        ),
        "submit": lambda: body["submitted_at"] is not None and body["due_at"] is not None,
        "accept": lambda: body["allowed_actions"] and "schedule" in body["allowed_actions"],
        "no_show": lambda: body["closed_at"] is not None,
    }
    assert effects[action](), body


def test_refer_back_answers_201_with_the_downward_referral(receiver, referral_in, world):
    upward = referral_in("completed")

    response = receiver.post(url_of(upward, "refer_back"), {}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= DOCUMENTED
    assert (body["status"], body["direction"], body["returns_referral"]) == (
        "draft",
        "down",
        upward.pk,
    )
    assert (body["from_institution"], body["to_institution"]) == (
        world["hospital"].pk,
        world["center"].pk,
    )
    assert "4周复查" in body["clinical_summary"]
    assert upward.events.latest("pk").action == "refer_back"
    assert receiver.get(url_of(upward)).json()["referred_back_by"] == body["id"]


def test_refer_back_with_submit_true_sends_it_at_once(receiver, referral_in):
    upward = referral_in("completed")

    response = receiver.post(
        url_of(upward, "refer_back"),
        {"reason": "病情稳定，回社区康复", "submit": True},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["reason"]) == (
        "submitted",
        "病情稳定，回社区康复",
    )


def test_refer_back_with_a_key_over_64_characters_is_a_400_and_writes_nothing(
    receiver, referral_in
):
    upward = referral_in("completed")

    response = receiver.post(
        url_of(upward, "refer_back"), {}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 65
    )

    assert_field_error(response, "Idempotency-Key")
    assert not Referral.objects.filter(returns_referral=upward).exists()


def test_refer_back_retried_with_the_same_key_answers_with_the_same_referral(receiver, referral_in):
    upward = referral_in("completed")

    first = receiver.post(
        url_of(upward, "refer_back"), {}, format="json", HTTP_IDEMPOTENCY_KEY="back-0001"
    )
    again = receiver.post(
        url_of(upward, "refer_back"), {}, format="json", HTTP_IDEMPOTENCY_KEY="back-0001"
    )

    assert (first.status_code, again.status_code) == (201, 200), again.content
    assert first.json()["id"] == again.json()["id"]
    assert Referral.objects.filter(returns_referral=upward).count() == 1


def test_refer_back_twice_conflicts(receiver, referral_in):
    upward = referral_in("completed")
    receiver.post(url_of(upward, "refer_back"), {}, format="json")

    response = receiver.post(url_of(upward, "refer_back"), {}, format="json")

    assert_json_error(response, 409)
    assert Referral.objects.filter(returns_referral=upward).count() == 1


def test_the_office_refers_back_from_the_hospital_that_treated_the_patient(
    client_for, clinic_doctor, alliance_office, world
):
    treating = HospitalFactory(name="临港二级医院", kind=InstitutionKind.SECONDARY_HOSPITAL)
    MembershipFactory(alliance=world["alliance"], institution=treating)
    doctor = staff_user(Role.HOSPITAL_STAFF, treating, username="treating_doctor")
    upward, _ = services.referral_create(
        actor=clinic_doctor,
        patient=world["patient"],
        to_institution=treating,
        diagnosis_code="I20.0",
        diagnosis_text="心绞痛",
        reason="胸痛",
        consent=True,
        submit=True,
    )
    upward = services.referral_accept(actor=doctor, referral=upward)
    upward = services.referral_arrive(actor=doctor, referral=upward)
    upward = services.referral_complete(
        actor=doctor, referral=upward, outcome="outpatient", summary="好转"
    )

    response = client_for(alliance_office).post(url_of(upward, "refer_back"), {}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["from_institution"] == treating.pk


def test_an_emergency_may_arrive_before_it_is_accepted(sender, receiver, world):
    created = sender.post(URL, payload(world, urgency="emergency", submit=True), format="json")

    response = receiver.post(f"{URL}{created.json()['id']}/arrive/", {}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "arrived"


def test_the_office_may_act_for_either_side(api, alliance_office, referral_in):
    referral = referral_in("submitted")
    office = api.as_user(alliance_office)

    accepted = office.post(url_of(referral, "accept"), {}, format="json")
    cancelled = office.post(
        url_of(referral, "cancel"), {"reason": "医联体办公室协调"}, format="json"
    )

    assert (accepted.status_code, cancelled.status_code) == (200, 200)
    assert cancelled.json()["status"] == "cancelled"


def test_the_detail_lists_what_the_user_may_do_next(sender, receiver, referral_in):
    referral = referral_in("submitted")

    assert set(sender.get(url_of(referral)).json()["allowed_actions"]) == {"cancel"}
    assert set(receiver.get(url_of(referral)).json()["allowed_actions"]) == {
        "request_info",
        "accept",
        "reject",
        "redirect",
    }


def test_the_whole_loop_up_and_back_down_through_the_api(sender, receiver, world):
    doctor, triage = sender, receiver
    pk = doctor.post(URL, payload(world, submit=True), format="json").json()["id"]
    steps = [
        (triage, "accept", {}),
        (triage, "schedule", {"appointment_at": later(2), "place": "胸痛中心"}),
        (triage, "arrive", {}),
        (triage, "complete", {"outcome": "admitted", "summary": "PCI术后稳定"}),
    ]
    for client, action, data in steps:
        assert client.post(f"{URL}{pk}/{action}/", data, format="json").status_code == 200, action
    back = triage.post(f"{URL}{pk}/refer_back/", {"submit": True}, format="json").json()
    accepted = doctor.post(f"{URL}{back['id']}/accept/", {}, format="json")

    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["direction"] == "down"


# --- The permission matrix ----------------------------------------------------------------------


MATRIX_PERSONAS = [
    "clinic_doctor",
    "hospital_triage",
    "outsider_clinic_user",
    "alliance_office",
    "bureau_viewer",
    "center_staff",
    "no_profile_user",
    "superuser",
    "anonymous",
]
NO_ROLE = {"bureau_viewer": 403, "center_staff": 403, "no_profile_user": 403, "anonymous": 401}
SEES_ALL = {
    "clinic_doctor": 200,
    "hospital_triage": 200,
    "outsider_clinic_user": 200,
    "alliance_office": 200,
    "superuser": 200,
} | NO_ROLE
SEES_ONE = SEES_ALL | {"outsider_clinic_user": 404}
SENDER_SIDE = SEES_ONE | {"hospital_triage": 403}
# A draft is the sender's alone: the receiving hospital does not see it yet.
SENDER_DRAFT = SENDER_SIDE | {"hospital_triage": 404}
RECEIVER_SIDE = SEES_ONE | {"clinic_doctor": 403}
# The hospital may refer the patient on (it sees them through the referral); the third centre
# does not see the patient; a superuser has no institution to refer from.
CREATES = {
    "clinic_doctor": 201,
    "hospital_triage": 201,
    "outsider_clinic_user": 400,
    "alliance_office": 201,
    "superuser": 403,
} | NO_ROLE
SUGGESTS = SEES_ALL | {"outsider_clinic_user": 400}
REFERS_BACK = RECEIVER_SIDE | {"hospital_triage": 201, "alliance_office": 201, "superuser": 403}

# endpoint: (method, state of the referral it acts on or None, path after the id, body, expected)
ENDPOINTS = {
    "list": ("get", None, None, None, SEES_ALL),
    "retrieve": ("get", "submitted", "", None, SEES_ONE),
    "create": ("post", None, None, "create", CREATES),
    "partial_update": ("patch", "draft", "", {"reason": "补充"}, SENDER_DRAFT),
    "events": ("get", "submitted", "events", None, SEES_ONE),
    "suggest-targets": ("get", None, "suggest-targets", "suggest", SUGGESTS),
    "submit": ("post", "draft", "submit", {}, SENDER_DRAFT),
    "request_info": ("post", "submitted", "request_info", {"note": "请补充"}, RECEIVER_SIDE),
    "accept": ("post", "submitted", "accept", {}, RECEIVER_SIDE),
    "reject": ("post", "submitted", "reject", {"reason": "无床位"}, RECEIVER_SIDE),
    "redirect": ("post", "submitted", "redirect", "redirect", RECEIVER_SIDE),
    "schedule": ("post", "accepted", "schedule", "schedule", RECEIVER_SIDE),
    "arrive": ("post", "accepted", "arrive", {}, RECEIVER_SIDE),
    "complete": (
        "post",
        "arrived",
        "complete",
        {"outcome": "outpatient", "summary": "好转"},
        RECEIVER_SIDE,
    ),
    "cancel": ("post", "submitted", "cancel", {"reason": "患者拒绝"}, SENDER_SIDE),
    "refer_back": ("post", "completed", "refer_back", {}, REFERS_BACK),
    "no_show": ("post", "no_show_due", "no_show", {}, RECEIVER_SIDE),
}
assert all(set(spec[4]) == set(MATRIX_PERSONAS) for spec in ENDPOINTS.values())
MATRIX = [(e, p) for e in ENDPOINTS for p in MATRIX_PERSONAS]


@pytest.mark.parametrize(("endpoint", "persona_name"), MATRIX)
def test_every_persona_gets_the_expected_status_on_every_endpoint(
    api, world, referral_in, request, endpoint, persona_name
):
    method, state, path, data, expected = ENDPOINTS[endpoint]
    if persona_name != "anonymous":
        api.as_user(request.getfixturevalue(persona_name))
    # One submitted referral always exists, so the hospital sees the patient.
    existing = referral_in("submitted")
    if state == "no_show_due":
        referral = referral_in("scheduled", appointment_passed=True)
    elif state and state != "submitted":
        referral = referral_in(state)
    else:
        referral = existing
    if isinstance(data, str):  # a body that needs the world's ids
        data = {
            "create": payload(world, to_institution=world["other_center"].pk, to_department=None),
            "suggest": {"patient": world["patient"].pk, "service": "outpatient"},
            "redirect": {"to_institution": world["other_center"].pk},
            "schedule": {"appointment_at": later(24), "place": "门诊"},
        }[data]
    url = URL if path is None else (f"{URL}{path}/" if state is None else url_of(referral, path))
    before = snapshot(referral)

    response = getattr(api, method)(url, data, format="json" if method != "get" else None)

    status = expected[persona_name]
    if status >= 400:
        assert_json_error(response, status)
        assert snapshot(referral) == before
    else:
        assert response.status_code == status, response.content
    if endpoint == "list" and status == 200:
        visible = 0 if persona_name == "outsider_clinic_user" else 1
        assert len(response.json()["results"]) == visible


# --- The list: filters, search, ordering, pagination --------------------------------------------


@pytest.fixture
def spread(world, make_referral, clinic_doctor, outsider_clinic_user, hospital_triage):
    """Referrals that differ in one way each, submitted on different days (noon, local time)."""

    def day(n: int) -> datetime.datetime:
        return datetime.datetime(2026, 3, n, 12, 0, tzinfo=timezone.get_current_timezone())

    def submitted(referral, on: int):
        referral = services.referral_submit(actor=referral.referring_user, referral=referral)
        Referral.objects.filter(pk=referral.pk).update(submitted_at=day(on))
        referral.refresh_from_db()
        return referral

    routine = submitted(make_referral(urgency="routine"), 1)
    emergency = submitted(make_referral(urgency="emergency"), 5)
    # An exam at another community centre: one tier, so lateral (derived, not chosen).
    lateral, _ = services.referral_create(
        actor=clinic_doctor,
        patient=world["patient"],
        to_institution=world["other_center"],
        service="exam",
        exam_type="ct",
        diagnosis_code="I10",
        diagnosis_text="高血压",
        reason="心脏超声复查",
        consent=True,
    )
    lateral = submitted(lateral, 10)
    draft = make_referral(urgency="routine")
    outsider_patient = world["other_patient"]
    from_outsider, _ = services.referral_create(
        actor=outsider_clinic_user,
        patient=outsider_patient,
        to_institution=world["hospital"],
        diagnosis_code="J18.9",
        diagnosis_text="肺炎",
        reason="抗感染效果不佳",
        consent=True,
    )
    from_outsider = submitted(from_outsider, 20)
    accepted = services.referral_accept(actor=hospital_triage, referral=routine)
    return {
        "routine": accepted,
        "emergency": emergency,
        "lateral": lateral,
        "draft": draft,
        "from_outsider": from_outsider,
    }


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


def keys(spread, *names) -> set[str]:
    return {spread[n].number for n in names}


FILTERS = [
    ({"status": "submitted"}, {"emergency", "lateral", "from_outsider"}),
    ({"status": ["accepted", "draft"]}, {"routine", "draft"}),
    ({"direction": "lateral"}, {"lateral"}),
    ({"direction": "up"}, {"routine", "emergency", "draft", "from_outsider"}),
    ({"urgency": "emergency"}, {"emergency"}),
    ({"service": "exam"}, {"lateral"}),
    ({"from_institution": "other_center"}, {"from_outsider"}),
    ({"from_institution": "center"}, {"routine", "emergency", "lateral", "draft"}),
    ({"to_institution": "hospital"}, {"routine", "emergency", "draft", "from_outsider"}),
    ({"to_institution": "other_center"}, {"lateral"}),
    ({"submitted_after": "2026-03-05"}, {"emergency", "lateral", "from_outsider"}),
    ({"submitted_before": "2026-03-05"}, {"routine", "emergency"}),
    ({"submitted_after": "2026-03-02", "submitted_before": "2026-03-10"}, {"emergency", "lateral"}),
    ({"q": "王强"}, {"from_outsider"}),
    ({"q": "张"}, {"routine", "emergency", "lateral", "draft"}),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS)
def test_list_filters(api, alliance_office, world, spread, params, expected):
    params = {k: world[v].pk if isinstance(v, str) and v in world else v for k, v in params.items()}

    response = api.as_user(alliance_office).get(URL, params)

    assert set(numbers(response)) == keys(spread, *expected)


def test_search_finds_a_referral_by_its_number(api, outsider_clinic_user, spread):
    number = spread["lateral"].number  # received by the other centre

    response = api.as_user(outsider_clinic_user).get(URL, {"q": number.lower()})

    assert numbers(response) == [number]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "bogus"),
        ("direction", "sideways"),
        ("urgency", "asap"),
        ("service", "surgery"),
        ("from_institution", "abc"),
        ("to_institution", "999999"),
        ("submitted_after", "not-a-date"),
        ("submitted_before", "2026-13-45"),
    ],
)
def test_an_invalid_filter_value_is_a_400_naming_the_field(
    api, clinic_doctor, spread, field, value
):
    response = api.as_user(clinic_doctor).get(URL, {field: value})

    body = assert_json_error(response, 400)
    assert field in body["errors"], body


@pytest.mark.parametrize("cursor", ["abc", "bz0tMSZwPTE=", "cj14"])  # "o=-1&p=1", "r=x"
def test_a_bad_cursor_is_a_404_json_never_a_500(api, clinic_doctor, spread, cursor):
    assert_json_error(api.as_user(clinic_doctor).get(URL, {"cursor": cursor}), 404)


def walk(client, **params) -> list[str]:
    """Every number the list gives when a client follows `next` to the end."""
    response = client.get(URL, params)
    seen = []
    while True:
        seen += numbers(response)
        if not response.json()["next"]:
            return seen
        response = client.get(response.json()["next"])


def test_the_list_is_newest_first_by_default(api, alliance_office, spread):
    listed = numbers(api.as_user(alliance_office).get(URL))

    assert listed == sorted(listed, reverse=True)


def test_the_list_is_paginated_by_cursor_without_a_count(api, alliance_office, spread):
    office = api.as_user(alliance_office)

    first = office.get(URL, {"page_size": 2}).json()

    assert set(first) == {"next", "previous", "results"}
    assert len(first["results"]) == 2 and first["previous"] is None
    assert "cursor=" in first["next"] and "page_size=2" in first["next"]
    second = office.get(first["next"]).json()
    assert second["previous"] and len(second["results"]) == 2
    assert walk(office, page_size=2) == numbers(office.get(URL))


@pytest.mark.parametrize(
    "ordering",
    [
        "number",
        "-number",
        "created_at",
        "-created_at",
        "submitted_at",
        "-submitted_at",
        "due_at",
        "-due_at",
    ],
)
def test_following_next_gives_every_referral_once_whatever_the_ordering(
    api, alliance_office, spread, ordering
):
    """Drafts have no submission time or deadline: a cursor must not lose or repeat them."""
    office = api.as_user(alliance_office)

    walked = walk(office, page_size=2, ordering=ordering)

    assert sorted(walked) == sorted(s.number for s in spread.values())


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("number", ["routine", "emergency", "lateral", "draft", "from_outsider"]),
        ("-number", ["from_outsider", "draft", "lateral", "emergency", "routine"]),
        ("created_at", ["routine", "emergency", "lateral", "draft", "from_outsider"]),
    ],
)
def test_the_list_can_be_ordered(api, alliance_office, spread, ordering, expected):
    response = api.as_user(alliance_office).get(URL, {"ordering": ordering})

    assert numbers(response) == [spread[name].number for name in expected]


def test_ordering_by_an_unlisted_field_is_ignored(api, alliance_office, spread):
    office = api.as_user(alliance_office)

    unlisted = office.get(URL, {"ordering": "patient__id_number"})

    assert numbers(unlisted) == numbers(office.get(URL))


def test_list_rows_carry_the_documented_names_and_a_masked_id(api, clinic_doctor, spread):
    rows = api.as_user(clinic_doctor).get(URL).json()["results"]

    assert rows
    for row in rows:
        assert set(row) >= DOCUMENTED
        assert MASKED_ID.match(row["patient"]["id_number"])


def test_each_side_lists_only_its_referrals(api, clinic_doctor, outsider_clinic_user, spread):
    doctor = set(numbers(api.as_user(clinic_doctor).get(URL)))
    outsider = set(numbers(api.as_user(outsider_clinic_user).get(URL)))

    assert doctor == keys(spread, "routine", "emergency", "lateral", "draft")
    assert outsider == keys(spread, "from_outsider", "lateral")  # it sent one, received one


# --- The timeline -------------------------------------------------------------------------------


def test_events_are_the_timeline_in_order(api, clinic_doctor, hospital_triage, referral_in):
    hospital_triage.first_name, hospital_triage.last_name = "敏", "李"
    hospital_triage.save()
    referral = referral_in("scheduled")
    services.referral_arrive(actor=hospital_triage, referral=referral, note="患者已到院")

    response = api.as_user(clinic_doctor).get(url_of(referral, "events"))

    assert response.status_code == 200, response.content
    events = response.json()
    assert isinstance(events, list)  # the whole timeline, not a page
    assert [(e["action"], e["from_status"], e["to_status"]) for e in events] == [
        ("create", "", "draft"),
        ("submit", "draft", "submitted"),
        ("accept", "submitted", "accepted"),
        ("schedule", "accepted", "scheduled"),
        ("arrive", "scheduled", "arrived"),
    ]
    for event in events:
        assert {"action", "from_status", "to_status", "actor", "at", "note"} <= set(event)
    assert events[0]["actor"] == "clinic_doctor"
    assert events[-1]["actor"] in ("李敏", "敏 李")
    assert events[-1]["note"] == "患者已到院"
    times = [datetime.datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times)


def test_a_platform_event_has_no_actor(api, alliance_office, referral_in):
    referral = referral_in("submitted")
    Referral.objects.filter(pk=referral.pk).update(
        due_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    services.escalate_overdue()

    events = api.as_user(alliance_office).get(url_of(referral, "events")).json()

    assert (events[-1]["action"], events[-1]["actor"]) == ("escalate", None)


# --- Where to refer -----------------------------------------------------------------------------


def place(institution, lat: str, lon: str) -> None:
    institution.latitude, institution.longitude = lat, lon
    institution.save()


@pytest.fixture
def map_of_targets(world):
    """Coordinates that put the alliance's institutions at 1, 2, 3 and 5 km north of the patient's
    home centre; the centre outside the alliance is the nearest of all."""
    place(world["center"], "30.900000", "121.900000")
    DepartmentFactory(institution=world["center"], name="全科", specialty="general_practice")
    near = HospitalFactory(
        name="临港二级医院", kind=InstitutionKind.SECONDARY_HOSPITAL, district=world["pudong"]
    )
    MembershipFactory(alliance=world["alliance"], institution=near)
    DepartmentFactory(institution=near, name="心内科")
    place(near, "30.910000", "121.900000")
    place(world["hospital"], "30.920000", "121.900000")
    bedless = InstitutionFactory(name="书院社区卫生服务中心", approved_beds=0)
    MembershipFactory(alliance=world["alliance"], institution=bedless)
    DepartmentFactory(institution=bedless, name="全科门诊", specialty="general_practice")
    place(bedless, "30.930000", "121.900000")
    DepartmentFactory(institution=world["other_center"], name="康复科", specialty="rehabilitation")
    place(world["other_center"], "30.950000", "121.900000")
    unplaced = InstitutionFactory(name="万祥社区卫生服务中心")
    MembershipFactory(alliance=world["alliance"], institution=unplaced)
    DepartmentFactory(institution=unplaced, name="全科", specialty="general_practice")
    DepartmentFactory(
        institution=world["foreign_center"], name="全科", specialty="general_practice"
    )
    place(world["foreign_center"], "30.900100", "121.900000")
    return {"near": near, "bedless": bedless, "unplaced": unplaced}


def suggest(client, **params):
    return client.get(f"{URL}suggest-targets/", params)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"service": "outpatient"}, "patient"),
        ({"patient": "abc", "service": "outpatient"}, "patient"),
        ({"patient": "999999", "service": "outpatient"}, "patient"),
        ({"patient": "other_patient", "service": "outpatient"}, "patient"),
        ({"patient": "foreign_patient", "service": "outpatient"}, "patient"),
        ({"patient": "patient", "service": "surgery"}, "service"),
        ({"patient": "patient", "service": "exam", "exam_type": "pet"}, "exam_type"),
        ({"patient": "patient", "specialty": "astrology"}, "specialty"),
    ],
)
def test_suggestions_need_a_visible_patient_and_a_known_service(
    sender, world, map_of_targets, params, field
):
    params = {k: world[v].pk if v in world else v for k, v in params.items()}

    body = assert_json_error(suggest(sender, **params), 400)

    assert field in body["errors"], body


def test_suggestions_are_ordered_by_distance_from_the_patients_home(sender, world, map_of_targets):
    response = suggest(sender, patient=world["patient"].pk, service="outpatient")

    assert response.status_code == 200, response.content
    rows = response.json()
    assert [row["name"] for row in rows] == [
        "临港二级医院",
        world["hospital"].name,
        "书院社区卫生服务中心",
        world["other_center"].name,
        "万祥社区卫生服务中心",
    ]
    assert [row["distance_km"] for row in rows] == [1.1, 2.2, 3.3, 5.6, None]
    first = rows[0]
    assert set(first) >= {"institution", "name", "kind", "distance_km", "beds", "departments"}
    assert first["institution"] == map_of_targets["near"].pk
    assert [d["name"] for d in first["departments"]] == ["心内科"]


def test_suggestions_leave_out_the_own_institution_and_non_members(sender, world, map_of_targets):
    names = {row["name"] for row in suggest(sender, patient=world["patient"].pk).json()}

    assert world["center"].name not in names
    assert world["foreign_center"].name not in names
    assert world["bureau"].name not in names


def test_admission_suggestions_need_beds(sender, world, map_of_targets):
    rows = suggest(sender, patient=world["patient"].pk, service="admission").json()

    assert "书院社区卫生服务中心" not in {row["name"] for row in rows}
    assert all(row["beds"] > 0 for row in rows)
    assert rows[0]["name"] == "临港二级医院"


def test_suggestions_count_from_the_patients_home_not_the_users(
    api, alliance_office, world, map_of_targets
):
    """The office sits at the hospital; the patient lives by the centre."""
    rows = suggest(
        api.as_user(alliance_office), patient=world["patient"].pk, service="outpatient"
    ).json()

    assert [row["name"] for row in rows][:2] == [world["center"].name, "临港二级医院"]
    assert rows[0]["distance_km"] == 0.0


def test_exam_suggestions_follow_the_examination(sender, world, map_of_targets):
    DepartmentFactory(institution=world["hospital"], name="放射科", specialty="imaging")

    rows = suggest(sender, patient=world["patient"].pk, service="exam", exam_type="ct").json()

    assert [row["name"] for row in rows] == [world["hospital"].name]
    assert [d["name"] for d in rows[0]["departments"]] == ["放射科"]


# --- Notifications after commit -----------------------------------------------------------------


@pytest.fixture
def hospital_staff(world, hospital_triage):
    """Cardiology's triage nurse (with an email), the hospital's referral desk (no department)
    and a neurologist who has nothing to do with a cardiology referral."""
    hospital_triage.email = "triage@hospital.example"
    hospital_triage.save()
    neurology = DepartmentFactory(
        institution=world["hospital"], name="神经内科", specialty="neurology"
    )
    return {
        "triage": hospital_triage,
        "desk": staff_user(Role.HOSPITAL_STAFF, world["hospital"], username="referral_desk"),
        "neurologist": staff_user(
            Role.HOSPITAL_STAFF, world["hospital"], username="neurologist", department=neurology
        ),
    }


def test_nothing_is_sent_while_the_transaction_is_open(
    sender, world, hospital_staff, alerts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = sender.post(URL, payload(world, urgency="emergency", submit=True), format="json")

    assert response.status_code == 201
    assert len(callbacks) == 2  # the inbox notice and the pre-arrival alert
    assert not Notification.objects.exists()
    assert alerts == [] and mail.outbox == []


def test_submitting_notifies_the_receiving_department_and_the_desk_once(
    sender, world, hospital_staff, clinic_doctor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sender.post(URL, payload(world, submit=True), format="json")

    assert response.status_code == 201
    number = response.json()["number"]
    assert hospital_staff["triage"].notifications.count() == 1
    assert hospital_staff["desk"].notifications.count() == 1
    assert hospital_staff["neurologist"].notifications.count() == 0
    assert clinic_doctor.notifications.count() == 0
    notice = hospital_staff["triage"].notifications.get()
    assert number in notice.title and notice.read_at is None
    assert notice.url == f"/referrals/{response.json()['id']}/"


def test_a_draft_notifies_nobody(
    sender, world, hospital_staff, alerts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sender.post(URL, payload(world, urgency="emergency"), format="json")

    assert not Notification.objects.exists()
    assert alerts == [] and mail.outbox == []


def test_mail_goes_to_the_recipients_with_an_email(
    sender, world, hospital_staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sender.post(URL, payload(world, submit=True), format="json")

    assert [message.to for message in mail.outbox] == [["triage@hospital.example"]]
    assert Referral.objects.get().number in mail.outbox[0].subject
    triage_notice = hospital_staff["triage"].notifications.get()
    assert triage_notice.emailed_at is not None


def test_an_emergency_alerts_the_on_duty_phone_once(
    sender, world, hospital_staff, alerts, django_capture_on_commit_callbacks
):
    world["cardiology"].on_duty_phone = "13901709999"
    world["cardiology"].save()

    with django_capture_on_commit_callbacks(execute=True):
        sender.post(URL, payload(world, urgency="emergency", submit=True), format="json")

    assert len(alerts) == 1
    phone, message = alerts[0]
    assert phone == "13901709999"
    assert "心电图ST段压低" in message  # the clinical summary: the team is ready on arrival
    assert world["patient"].id_number not in message
    assert hospital_staff["triage"].notifications.get().urgent is True


def test_an_urgent_referral_alerts_nobody(
    sender, world, hospital_staff, alerts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sender.post(URL, payload(world, urgency="urgent", submit=True), format="json")

    assert alerts == []


def test_running_the_after_commit_callbacks_twice_still_notifies_once(
    sender, world, hospital_staff, alerts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sender.post(URL, payload(world, urgency="emergency", submit=True), format="json")
    for callback in callbacks * 2:
        callback()

    assert hospital_staff["triage"].notifications.count() == 1
    assert hospital_staff["desk"].notifications.count() == 1
    assert len(alerts) == 1
    assert len(mail.outbox) == 1


def test_without_a_department_the_whole_receiving_institution_hears_of_it(
    sender, world, hospital_staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sender.post(URL, payload(world, to_department=None, submit=True), format="json")

    for user in hospital_staff.values():
        assert user.notifications.count() == 1, user


def test_a_redirect_notifies_the_new_receiver(
    receiver, referral_in, outsider_clinic_user, django_capture_on_commit_callbacks
):
    referral = referral_in("submitted")

    with django_capture_on_commit_callbacks(execute=True):
        response = receiver.post(
            url_of(referral, "redirect"),
            {"to_institution": outsider_clinic_user.staff_profile.institution_id},
            format="json",
        )

    assert response.status_code == 200, response.content
    notice = outsider_clinic_user.notifications.get()
    assert referral.number in notice.title


def test_an_api_transition_notifies_the_sender(
    receiver, referral_in, clinic_doctor, django_capture_on_commit_callbacks
):
    referral = referral_in("submitted")

    with django_capture_on_commit_callbacks(execute=True):
        receiver.post(url_of(referral, "reject"), {"reason": "无床位"}, format="json")

    notice = clinic_doctor.notifications.get()
    assert referral.number in notice.title and notice.body == "无床位"


# --- Query counts -------------------------------------------------------------------------------


def many_referrals(make_referral, clinic_doctor, hospital_triage, n: int) -> None:
    """n referrals in a mix of states, urgencies and directions, one referred back."""
    for i in range(n):
        referral = make_referral(urgency=["routine", "urgent", "emergency"][i % 3])
        if i % 4:
            referral = services.referral_submit(actor=clinic_doctor, referral=referral)
        if i % 4 == 2:
            referral = services.referral_accept(actor=hospital_triage, referral=referral)
        if i % 8 == 2:
            referral = services.referral_arrive(actor=hospital_triage, referral=referral)
            referral = services.referral_complete(
                actor=hospital_triage, referral=referral, outcome="outpatient", summary="好转"
            )
            services.referral_refer_back(actor=hospital_triage, referral=referral)


# token, the user's profile, the ids of their institutions, the page, its access-log row
LIST_QUERIES = 5


@pytest.mark.parametrize("persona_name", ["clinic_doctor", "hospital_triage", "alliance_office"])
def test_the_list_makes_the_same_number_of_queries_for_5_and_for_40_referrals(
    api,
    make_referral,
    clinic_doctor,
    hospital_triage,
    request,
    persona_name,
    django_assert_max_num_queries,
):
    api.as_user(request.getfixturevalue(persona_name))
    many_referrals(make_referral, clinic_doctor, hospital_triage, 5)
    with django_assert_max_num_queries(LIST_QUERIES) as few:
        first = api.get(URL, {"page_size": 200})
    many_referrals(make_referral, clinic_doctor, hospital_triage, 35)
    with django_assert_max_num_queries(LIST_QUERIES) as more:
        second = api.get(URL, {"page_size": 200})

    # The hospital does not see drafts; every persona sees more rows the second time.
    assert 3 <= len(first.json()["results"]) < len(second.json()["results"])
    assert len(more) == len(few)


def test_the_schema_describes_the_states_and_actions(api, world):
    response = api.as_user(UserFactory()).get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )

    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    for action in (
        "submit",
        "request_info",
        "accept",
        "reject",
        "redirect",
        "schedule",
        "arrive",
        "complete",
        "cancel",
        "refer_back",
        "no_show",
    ):
        assert f"/api/v1/referrals/{{id}}/{action}/" in paths, action
    assert "/api/v1/referrals/{id}/events/" in paths
    assert "/api/v1/referrals/suggest-targets/" in paths
    status_enum = schema["components"]["schemas"]["ReferralStatusEnum"]["enum"]
    assert set(status_enum) >= {"draft", "submitted", "info_requested", "no_show", "expired"}


def test_the_detail_answers_in_a_fixed_number_of_queries(
    sender, referral_in, django_assert_max_num_queries
):
    referral = referral_in("completed")

    with django_assert_max_num_queries(12):
        assert sender.get(url_of(referral)).status_code == 200
