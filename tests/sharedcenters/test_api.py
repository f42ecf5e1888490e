"""The shared-centers API for diagnostic work: the catalog, orders and their reports, slots.

Unhappy paths first in each section. An order the user may not see is a 404, one they may see
but not act on a 403, a wrong state a 409, a bad body a 400 naming the field; every error is JSON
with a `detail`. The sterilization endpoints are in test_api_sterilization.py.
"""

import datetime
import json
import re

import pytest
from django.utils import timezone

from alliance.choices import Role
from sharedcenters import services
from sharedcenters.models import ExamOrder, ImagingSlot, OrderCounter, OrderEvent
from tests.kit.factories import PatientFactory, UserFactory, staff_user
from tests.sharedcenters.conftest import CRITICAL_RESULTS, NORMAL_RESULTS

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"
CENTERS_URL = "/api/v1/centers/"
SLOTS_URL = "/api/v1/slots/"
MASKED_ID = re.compile(r"^\d{6}\*{8}[\dX]{4}$")
LAB_NUMBER = re.compile(r"^JY-\d{8}-\d{4}$")
# The names the brief promises for an order as returned; the detail adds the computed ones.
DOCUMENTED = {
    "id",
    "number",
    "status",
    "priority",
    "center",
    "patient",
    "ordering_institution",
    "ordering_department",
    "ordering_user",
    "referral",
    "priority_channel",
    "slot",
    "items",
    "target_hours",
    "ordered_at",
    "collected_at",
    "received_at",
    "due_at",
    "started_at",
    "reported_at",
    "acknowledged_at",
    "cancelled_at",
    "rejection_reason",
    "status_note",
    "findings",
    "impression",
    "reported_by",
    "reviewed_by",
    "critical",
    "critical_note",
    "critical_acknowledged_at",
    "results",
}
DETAIL_ONLY = {
    "tat_hours",
    "lab_tat_hours",
    "on_time",
    "critical_ack_minutes",
    "allowed_actions",
    "report_versions",
}


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["detail"]
    return body


def assert_field_error(response, field: str) -> dict:
    """A 400 that names the field under `errors` and at the top level."""
    body = assert_json_error(response, 400)
    assert field in body["errors"], body
    assert body[field] == body["errors"][field]
    return body


def url_of(order, action: str = "") -> str:
    return f"{URL}{order.pk}/{action + '/' if action else ''}"


def snapshot(order) -> tuple:
    """What a refused request must leave alone."""
    order.refresh_from_db()
    return (
        order.status,
        order.slot_id,
        order.status_note,
        order.received_at,
        OrderEvent.objects.filter(order=order).count(),
        ExamOrder.objects.count(),
    )


@pytest.fixture
def client_for(api):
    """A separate API client per user, so two people can take turns in one test."""
    return lambda user: type(api)().as_user(user)


@pytest.fixture
def doctor(client_for, clinic_doctor):
    return client_for(clinic_doctor)


@pytest.fixture
def lab(client_for, center_staff):
    return client_for(center_staff)


@pytest.fixture
def imaging(client_for, imaging_staff):
    return client_for(imaging_staff)


def order_payload(centers, world, kind: str = "lab", **overrides) -> dict:
    items = {"lab": ["cbc", "potassium"], "imaging": ["ct_head"], "ecg": ["ecg12"]}[kind]
    data = {
        "center": centers[kind].pk,
        "patient": world["patient"].pk,
        "items": [centers[name].pk for name in items],
        "priority": "routine",
        "clinical_info": "乏力三天",
    }
    return {k: v for k, v in (data | overrides).items() if v is not None}


# --- Create: refusals ----------------------------------------------------------------------------


CREATE_ERRORS = {
    "no items": (lambda c, w: {"items": None}, "items"),
    "an empty item list": (lambda c, w: {"items": []}, "items"),
    "an item of another center": (lambda c, w: {"items": [c["ct_head"].pk]}, "items"),
    "an unknown item": (lambda c, w: {"items": [999999]}, "items"),
    "the same item twice": (lambda c, w: {"items": [c["cbc"].pk, c["cbc"].pk]}, "items"),
    "a patient of another centre": (lambda c, w: {"patient": w["other_patient"].pk}, "patient"),
    "an unknown patient": (lambda c, w: {"patient": 999999}, "patient"),
    "no patient": (lambda c, w: {"patient": None}, "patient"),
    "the sterilization center": (
        lambda c, w: {"center": c["cssd"].pk, "items": []},
        "center",
    ),
    "an unknown priority": (lambda c, w: {"priority": "stat"}, "priority"),
    "a department of another institution": (
        lambda c, w: {"ordering_department": w["cardiology"].pk},
        "ordering_department",
    ),
}


@pytest.mark.parametrize("case", CREATE_ERRORS, ids=list(CREATE_ERRORS))
def test_creating_with_an_invalid_field_is_a_400_naming_it_and_writes_nothing(
    doctor, centers, world, case
):
    overrides, field = CREATE_ERRORS[case]

    response = doctor.post(URL, order_payload(centers, world, **overrides(centers, world)), "json")

    assert_field_error(response, field)
    assert not ExamOrder.objects.exists()
    assert not OrderEvent.objects.exists()
    assert not OrderCounter.objects.filter(last__gt=0).exists()


def test_an_imaging_order_of_two_modalities_is_a_400(doctor, centers, world):
    items = [centers["ct_head"].pk, centers["mri_knee"].pk]

    response = doctor.post(URL, order_payload(centers, world, "imaging", items=items), "json")

    assert_field_error(response, "items")
    assert not ExamOrder.objects.exists()


def test_the_invisible_patient_error_does_not_disclose_the_patient(doctor, centers, world):
    response = doctor.post(
        URL, order_payload(centers, world, patient=world["other_patient"].pk), "json"
    )

    text = json.dumps(assert_field_error(response, "patient"), ensure_ascii=False)
    assert world["other_patient"].name not in text
    unknown = doctor.post(URL, order_payload(centers, world, patient=999999), "json").json()
    assert unknown["patient"][0].replace("999999", "") == (
        json.loads(text)["patient"][0].replace(str(world["other_patient"].pk), "")
    )


@pytest.mark.parametrize(
    ("persona_name", "status"),
    [
        ("center_staff", 403),
        ("alliance_office", 403),
        ("bureau_viewer", 403),
        ("no_profile_user", 403),
        ("superuser", 403),
    ],
)
def test_only_clinical_staff_place_orders(api, centers, world, request, persona_name, status):
    api.as_user(request.getfixturevalue(persona_name))

    response = api.post(URL, order_payload(centers, world), format="json")

    assert_json_error(response, status)
    assert not ExamOrder.objects.exists()


def test_a_malformed_json_body_is_a_400_json(doctor, centers):
    response = doctor.post(URL, data="{not json", content_type="application/json")

    assert_json_error(response, 400)
    assert not ExamOrder.objects.exists()


# --- Create: the happy path ----------------------------------------------------------------------


def test_creating_answers_201_with_the_documented_names(doctor, centers, world, clinic_doctor):
    response = doctor.post(URL, order_payload(centers, world), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= DOCUMENTED | DETAIL_ONLY
    order = ExamOrder.objects.get()
    assert body["id"] == order.pk and body["number"] == order.number
    assert LAB_NUMBER.match(body["number"])
    assert (body["status"], body["priority"], body["center"]) == (
        "ordered",
        "routine",
        centers["lab"].pk,
    )
    assert body["ordering_institution"] == world["center"].pk
    assert body["ordering_user"] == clinic_doctor.pk
    assert body["patient"]["id"] == world["patient"].pk
    assert MASKED_ID.match(body["patient"]["id_number"])
    assert [i["code"] for i in body["items"]] == ["L001", "L002"]
    assert body["items"][0] | {"price": None} == {
        "item": centers["cbc"].pk,
        "code": "L001",
        "name": "血常规",
        "modality": "",
        "specimen_type": "blood",
        "price": None,
    }
    assert body["target_hours"] == "6.00"  # the slowest item, routine
    assert body["results"] == [] and body["critical"] is False
    assert body["tat_hours"] is None and body["on_time"] is None
    assert sorted(body["allowed_actions"]) == ["cancel", "collect"]


def test_a_center_with_several_staff_takes_orders(doctor, centers, world):
    for n in range(2):
        centers["lab"].staff.add(staff_user(Role.CENTER_STAFF, world["hospital"], f"lab{n}"))

    response = doctor.post(URL, order_payload(centers, world), format="json")

    assert response.status_code == 201, response.content


def test_an_urgent_order_takes_the_urgent_targets(doctor, centers, world):
    response = doctor.post(URL, order_payload(centers, world, priority="urgent"), "json")

    assert response.status_code == 201, response.content
    assert response.json()["target_hours"] == "1.00"


def test_the_full_identity_number_never_leaves_the_api(doctor, centers, world):
    response = doctor.post(URL, order_payload(centers, world), format="json")

    assert world["patient"].id_number not in response.content.decode()


def test_status_is_not_writable_when_creating(doctor, centers, world):
    data = order_payload(centers, world) | {"status": "reported", "critical": True}

    response = doctor.post(URL, data, format="json")

    assert response.status_code == 201, response.content
    assert (response.json()["status"], response.json()["critical"]) == ("ordered", False)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_orders_cannot_be_replaced_edited_or_deleted(doctor, lab_order_in, method):
    order = lab_order_in("ordered")
    before = snapshot(order)

    response = getattr(doctor, method)(url_of(order), {"status": "reported"}, format="json")

    assert_json_error(response, 405)
    assert snapshot(order) == before


# --- Transitions: refusals -----------------------------------------------------------------------


def test_an_order_the_user_cannot_see_is_a_404_that_discloses_nothing(
    client_for, outsider_clinic_user, lab_order_in, world
):
    order = lab_order_in("collected")
    outsider = client_for(outsider_clinic_user)
    before = snapshot(order)

    for method, action in [("get", ""), ("get", "events"), ("post", "cancel"), ("post", "collect")]:
        response = getattr(outsider, method)(url_of(order, action), {"reason": "x"}, "json")
        body = assert_json_error(response, 404)
        assert order.number not in json.dumps(body)
        assert world["patient"].name not in json.dumps(body, ensure_ascii=False)
    assert snapshot(order) == before


def test_another_center_does_not_see_the_order_at_all(client_for, imaging_staff, lab_order_in):
    order = lab_order_in("received")

    response = client_for(imaging_staff).post(url_of(order, "start"), {}, format="json")

    assert_json_error(response, 404)
    assert ExamOrder.objects.get(pk=order.pk).status == "received"


@pytest.mark.parametrize("pk", ["999999", "99999999999999999999", "abc", "-1"])
@pytest.mark.parametrize("action", ["", "events", "receive"])
def test_unknown_and_non_numeric_ids_are_404_json(lab, centers, pk, action):
    method = "post" if action == "receive" else "get"

    response = getattr(lab, method)(f"{URL}{pk}/{action + '/' if action else ''}")

    assert_json_error(response, 404)


# (state, action, actor fixture, body): a visible order that is not theirs to act on.
NOT_ALLOWED = [
    ("collected", "receive", "alliance_office", {}),
    ("collected", "receive", "clinic_doctor", {}),
    ("in_progress", "report", "clinic_doctor", {"results": NORMAL_RESULTS}),
    ("reported", "acknowledge", "center_staff", {}),
    ("ordered", "collect", "center_staff", {}),
    ("ordered", "cancel", "center_staff", {"reason": "重复"}),
    ("ordered", "cancel", "alliance_office", {"reason": "重复"}),
    ("collected", "receive", "bureau_viewer", {}),
    ("collected", "receive", "no_profile_user", {}),
]


@pytest.mark.parametrize(("state", "action", "actor", "data"), NOT_ALLOWED)
def test_an_order_the_user_may_not_act_on_is_a_403_json_and_changes_nothing(
    api, lab_order_in, request, state, action, actor, data
):
    order = lab_order_in(state)
    api.as_user(request.getfixturevalue(actor))
    before = snapshot(order)

    response = api.post(url_of(order, action), data, format="json")

    assert_json_error(response, 403)
    assert snapshot(order) == before


# (state, action, actor fixture, body)
WRONG_STATE = [
    ("ordered", "acknowledge", "clinic_doctor", {}),
    ("ordered", "receive", "center_staff", {}),
    ("cancelled", "report", "center_staff", {"results": NORMAL_RESULTS}),
    ("received", "receive", "center_staff", {}),
    ("reported", "cancel", "clinic_doctor", {"reason": "不需要了"}),
    ("acknowledged", "acknowledge", "clinic_doctor", {}),
    ("in_progress", "reject", "center_staff", {"reason": "hemolysis"}),
    ("received", "schedule", "clinic_doctor", "slot"),
]


@pytest.mark.parametrize(("state", "action", "actor", "data"), WRONG_STATE)
def test_an_action_in_the_wrong_state_is_a_409_json_and_changes_nothing(
    api, lab_order_in, make_order, request, state, action, actor, data
):
    if data == "slot":  # an imaging order already at the center cannot be booked again
        order = services.order_schedule(
            actor=request.getfixturevalue("clinic_doctor"),
            order=make_order("imaging"),
            slot=request.getfixturevalue("slot"),
        )
        order = services.order_receive(actor=request.getfixturevalue("imaging_staff"), order=order)
        data = {"slot": order.slot_id}
    else:
        order = lab_order_in(state)
    api.as_user(request.getfixturevalue(actor))
    before = snapshot(order)

    response = api.post(url_of(order, action), data, format="json")

    body = assert_json_error(response, 409)
    assert body["code"] == "illegal_transition"
    assert snapshot(order) == before


def test_a_lab_order_cannot_be_booked_into_a_slot(doctor, lab_order_in, centers):
    order = lab_order_in("ordered")
    lab_slot = ImagingSlot.objects.create(
        center=centers["lab"],
        modality="ct",
        capacity=5,
        starts_at=timezone.now() + datetime.timedelta(days=1),
        ends_at=timezone.now() + datetime.timedelta(days=1, hours=1),
    )
    before = snapshot(order)

    response = doctor.post(url_of(order, "schedule"), {"slot": lab_slot.pk}, format="json")

    assert_json_error(response, 409)
    assert snapshot(order) == before


def test_rejecting_an_imaging_order_conflicts(
    imaging, make_order, clinic_doctor, imaging_staff, slot
):
    order = services.order_schedule(actor=clinic_doctor, order=make_order("imaging"), slot=slot)
    order = services.order_receive(actor=imaging_staff, order=order)
    before = snapshot(order)

    response = imaging.post(url_of(order, "reject"), {"reason": "hemolysis"}, format="json")

    assert_json_error(response, 409)
    assert snapshot(order) == before


def test_reporting_an_imaging_order_without_an_impression_is_a_400(
    imaging, make_order, clinic_doctor, imaging_staff, slot
):
    order = services.order_schedule(actor=clinic_doctor, order=make_order("imaging"), slot=slot)
    order = services.order_receive(actor=imaging_staff, order=order)

    response = imaging.post(url_of(order, "report"), {"findings": "未见异常"}, format="json")

    assert_field_error(response, "impression")
    assert ExamOrder.objects.get(pk=order.pk).status == "received"


# (state, action, actor fixture, body, field)
BAD_BODIES = [
    ("received", "reject", "center_staff", {}, "reason"),
    ("received", "reject", "center_staff", {"reason": "broken"}, "reason"),
    ("received", "reject", "center_staff", {"reason": "other"}, "note"),
    ("in_progress", "report", "center_staff", {}, "results"),
    ("in_progress", "report", "center_staff", {"results": []}, "results"),
    ("in_progress", "report", "center_staff", {"results": [{"analyte": "血钾"}]}, "results"),
    (
        "in_progress",
        "report",
        "center_staff",
        {"results": [{"analyte": "血钾", "value": "4.1", "flag": "HH"}]},
        "results",
    ),
    (
        "in_progress",
        "report",
        "center_staff",
        {"results": NORMAL_RESULTS, "reviewed_by": "clinic_doctor"},
        "reviewed_by",
    ),  # noqa: E501
    ("ordered", "cancel", "clinic_doctor", {}, "reason"),
    ("ordered", "cancel", "clinic_doctor", {"reason": "  "}, "reason"),
]


@pytest.mark.parametrize(("state", "action", "actor", "data", "field"), BAD_BODIES)
def test_an_action_with_a_bad_body_is_a_400_naming_the_field_and_changes_nothing(
    api, lab_order_in, request, state, action, actor, data, field
):
    order = lab_order_in(state)
    api.as_user(request.getfixturevalue(actor))
    if data.get("reviewed_by"):
        data = data | {"reviewed_by": request.getfixturevalue(data["reviewed_by"]).pk}
    before = snapshot(order)

    response = api.post(url_of(order, action), data, format="json")

    assert_field_error(response, field)
    assert snapshot(order) == before


@pytest.fixture
def imaging_order(make_order):
    return make_order("imaging")


def later_slot(centers, *, modality="ct", days=1, hour=10, capacity=10, reserved=3):
    start = timezone.localtime().replace(hour=hour, minute=0, second=0, microsecond=0)
    start += datetime.timedelta(days=days)
    return ImagingSlot.objects.create(
        center=centers["imaging"],
        modality=modality,
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        capacity=capacity,
        priority_reserved=reserved,
    )


def test_scheduling_without_a_slot_is_a_400(doctor, imaging_order):
    assert_field_error(doctor.post(url_of(imaging_order, "schedule"), {}, format="json"), "slot")


def test_scheduling_into_an_unknown_slot_is_a_400(doctor, imaging_order):
    response = doctor.post(url_of(imaging_order, "schedule"), {"slot": 999999}, format="json")

    assert_field_error(response, "slot")


def test_scheduling_into_a_slot_of_another_modality_is_a_400(doctor, imaging_order, centers):
    mri = later_slot(centers, modality="mri")
    before = snapshot(imaging_order)

    response = doctor.post(url_of(imaging_order, "schedule"), {"slot": mri.pk}, format="json")

    assert_field_error(response, "slot")
    assert snapshot(imaging_order) == before


def test_scheduling_into_a_slot_that_has_begun_is_a_400(doctor, imaging_order, centers):
    begun = later_slot(centers, days=-1)

    response = doctor.post(url_of(imaging_order, "schedule"), {"slot": begun.pk}, format="json")

    assert_field_error(response, "slot")


def test_scheduling_into_a_full_slot_conflicts(doctor, make_order, centers, clinic_doctor):
    small = later_slot(centers, capacity=1, reserved=0)
    services.order_schedule(actor=clinic_doctor, order=make_order("imaging"), slot=small)
    order = make_order("imaging")

    response = doctor.post(url_of(order, "schedule"), {"slot": small.pk}, format="json")

    assert_json_error(response, 409)
    assert ExamOrder.objects.get(pk=order.pk).slot_id is None


def test_an_ordinary_patient_may_not_take_the_reserved_places(
    doctor, make_order, centers, clinic_doctor
):
    reserved = later_slot(centers, capacity=2, reserved=1)
    services.order_schedule(actor=clinic_doctor, order=make_order("imaging"), slot=reserved)
    order = make_order("imaging")

    response = doctor.post(url_of(order, "schedule"), {"slot": reserved.pk}, format="json")

    body = assert_json_error(response, 409)
    assert "绿色通道" in body["detail"]


# --- Transitions: the happy paths ----------------------------------------------------------------


def test_the_whole_lab_lifecycle_through_the_api(doctor, lab, centers, world, center_staff):
    created = doctor.post(URL, order_payload(centers, world), format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    steps = [
        (doctor, "collect", {}, "collected"),
        (lab, "receive", {}, "received"),
        (lab, "start", {}, "in_progress"),
        (lab, "report", {"results": NORMAL_RESULTS, "impression": "未见异常"}, "reported"),
        (doctor, "acknowledge", {"note": "已阅"}, "acknowledged"),
    ]
    for client, action, data, expected in steps:
        response = client.post(f"{URL}{pk}/{action}/", data, format="json")
        assert response.status_code == 200, (action, response.content)
        assert response.json()["status"] == expected, action

    body = response.json()
    assert set(body) >= DOCUMENTED | DETAIL_ONLY
    for stamp in (
        "collected_at",
        "received_at",
        "due_at",
        "started_at",
        "reported_at",
        "acknowledged_at",
    ):
        assert body[stamp], stamp
    assert body["reported_by"] == center_staff.pk
    assert body["results"] == [
        {
            "analyte": "白细胞",
            "value": "6.2",
            "unit": "10^9/L",
            "reference_range": "3.5-9.5",
            "flag": "",
        },
        {
            "analyte": "血钾",
            "value": "4.1",
            "unit": "mmol/L",
            "reference_range": "3.5-5.3",
            "flag": "",
        },
    ]
    assert body["tat_hours"] == "0.0" and body["lab_tat_hours"] == "0.0"
    assert body["on_time"] is True
    assert body["critical"] is False and body["critical_ack_minutes"] is None
    assert body["allowed_actions"] == []
    events = doctor.get(f"{URL}{pk}/events/").json()
    assert [e["action"] for e in events] == [
        "create",
        "collect",
        "receive",
        "start",
        "report",
        "acknowledge",
    ]


def test_a_rejected_specimen_is_collected_again(doctor, lab, lab_order_in):
    order = lab_order_in("received")

    rejected = lab.post(url_of(order, "reject"), {"reason": "hemolysis", "note": "溶血"}, "json")

    assert rejected.status_code == 200, rejected.content
    body = rejected.json()
    assert (body["status"], body["rejection_reason"], body["status_note"]) == (
        "rejected",
        "hemolysis",
        "溶血",
    )
    assert body["received_at"] is None and body["due_at"] is None
    again = doctor.post(url_of(order, "collect"), {}, format="json").json()
    assert (again["status"], again["rejection_reason"]) == ("collected", "")


def test_an_imaging_order_is_scheduled_received_and_reported_through_the_api(
    doctor, imaging, imaging_order, slot, imaging_staff
):
    scheduled = doctor.post(url_of(imaging_order, "schedule"), {"slot": slot.pk}, "json")

    assert scheduled.status_code == 200, scheduled.content
    assert (scheduled.json()["status"], scheduled.json()["slot"]) == ("scheduled", slot.pk)
    assert imaging.post(url_of(imaging_order, "receive"), {}, "json").status_code == 200
    reported = imaging.post(
        url_of(imaging_order, "report"),
        {"findings": "脑实质未见异常密度影", "impression": "头颅CT平扫未见异常"},
        format="json",
    )
    assert reported.status_code == 200, reported.content
    body = reported.json()
    assert (body["status"], body["impression"], body["results"]) == (
        "reported",
        "头颅CT平扫未见异常",
        [],
    )
    event = OrderEvent.objects.get(order=imaging_order, action="schedule")
    assert event.data["slot"] == slot.pk


def test_an_imaging_order_may_be_moved_to_another_slot(doctor, imaging_order, slot, centers):
    doctor.post(url_of(imaging_order, "schedule"), {"slot": slot.pk}, "json")
    other = later_slot(centers, days=2)

    moved = doctor.post(url_of(imaging_order, "schedule"), {"slot": other.pk}, "json")

    assert moved.status_code == 200, moved.content
    assert moved.json()["slot"] == other.pk
    listed = {row["id"]: row["booked"] for row in doctor.get(SLOTS_URL).json()["results"]}
    assert listed == {slot.pk: 0, other.pk: 1}


def test_a_critical_report_stays_critical_until_acknowledged(
    doctor, lab, lab_order_in, django_capture_on_commit_callbacks
):
    order = lab_order_in("in_progress")

    with django_capture_on_commit_callbacks() as alerts:
        reported = lab.post(url_of(order, "report"), {"results": CRITICAL_RESULTS}, "json")

    assert reported.status_code == 200, reported.content
    body = reported.json()
    assert body["critical"] is True
    assert "6.9" in body["critical_note"]
    assert body["critical_acknowledged_at"] is None and body["critical_ack_minutes"] is None
    assert body["results"][0]["flag"] == "critical"
    assert len(alerts) == 1  # the alert is queued for after the commit
    acknowledged = doctor.post(url_of(order, "acknowledge"), {"note": "已电话通知患者"}, "json")
    body = acknowledged.json()
    assert body["status"] == "acknowledged"
    assert body["critical_acknowledged_at"] == body["acknowledged_at"] is not None
    assert body["critical_ack_minutes"] == 0


def test_the_reporting_doctor_may_mark_a_critical_value_and_name_a_reviewer(
    lab, lab_order_in, centers, world
):
    colleague = staff_user(Role.CENTER_STAFF, world["hospital"], username="lab_reviewer")
    centers["lab"].staff.add(colleague)
    order = lab_order_in("in_progress")
    data = {
        "results": NORMAL_RESULTS,
        "critical": True,
        "critical_note": "疑似白血病",
        "reviewed_by": colleague.pk,
    }

    body = lab.post(url_of(order, "report"), data, format="json").json()

    assert (body["critical"], body["critical_note"]) == (True, "疑似白血病")
    assert body["reviewed_by"] == colleague.pk


def test_cancelling_keeps_the_reason(doctor, lab_order_in):
    order = lab_order_in("collected")

    body = doctor.post(url_of(order, "cancel"), {"reason": "患者拒绝抽血"}, "json").json()

    assert (body["status"], body["status_note"]) == ("cancelled", "患者拒绝抽血")
    assert body["cancelled_at"] and body["allowed_actions"] == []


def test_the_detail_lists_what_each_side_may_do_next(
    doctor, lab, api, alliance_office, lab_order_in
):
    order = lab_order_in("collected")

    assert doctor.get(url_of(order)).json()["allowed_actions"] == ["cancel"]
    assert lab.get(url_of(order)).json()["allowed_actions"] == ["receive", "reject"]
    assert api.as_user(alliance_office).get(url_of(order)).json()["allowed_actions"] == []


def test_events_are_the_timeline_in_order_with_the_actors(doctor, lab_order_in, center_staff):
    order = lab_order_in("rejected")

    events = doctor.get(url_of(order, "events")).json()

    assert [(e["action"], e["from_status"], e["to_status"]) for e in events] == [
        ("create", "", "ordered"),
        ("collect", "ordered", "collected"),
        ("reject", "collected", "rejected"),
    ]
    assert events[-1]["actor"] == center_staff.get_username()
    assert events[-1]["data"] == {"reason": "hemolysis"}
    assert set(events[0]) == {
        "id",
        "action",
        "from_status",
        "to_status",
        "actor",
        "at",
        "note",
        "data",
    }


# --- The order list: who sees what, filters, pagination ------------------------------------------


def _day(n: int) -> datetime.datetime:
    return datetime.datetime(2026, 3, n, 12, 0, tzinfo=timezone.get_current_timezone())


@pytest.fixture
def spread(make_order, lab_order_in, centers, world, clinic_doctor, outsider_clinic_user):
    """Orders that differ in one way each, ordered on different days (noon, local time)."""
    urgent = make_order("lab", priority="urgent", ordered_at=_day(5))
    return {
        "routine": make_order("lab", ordered_at=_day(1)),
        "urgent": services.order_collect(actor=clinic_doctor, order=urgent),
        "imaging": make_order("imaging", ordered_at=_day(10)),
        "critical": lab_order_in("reported", critical=True, ordered_at=_day(15)),
        "cancelled": lab_order_in("cancelled", ordered_at=_day(20)),
        "outsider": services.order_create(
            actor=outsider_clinic_user,
            center=centers["lab"],
            patient=world["other_patient"],
            items=[centers["cbc"]],
            ordered_at=_day(25),
        ),
    }


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


def keys(spread, *names) -> set[str]:
    return {spread[n].number for n in names}


LIST_MATRIX = {
    "clinic_doctor": {"routine", "urgent", "imaging", "critical", "cancelled"},
    "outsider_clinic_user": {"outsider"},
    "hospital_triage": set(),
    "center_staff": {"routine", "urgent", "critical", "cancelled", "outsider"},
    "imaging_staff": {"imaging"},
    "alliance_office": {"routine", "urgent", "imaging", "critical", "cancelled", "outsider"},
    "superuser": {"routine", "urgent", "imaging", "critical", "cancelled", "outsider"},
    "bureau_viewer": 403,
    "no_profile_user": 403,
    "anonymous": 401,
}


@pytest.mark.parametrize("persona_name", LIST_MATRIX)
def test_each_persona_lists_the_orders_it_may_see(api, spread, request, persona_name):
    if persona_name != "anonymous":
        api.as_user(request.getfixturevalue(persona_name))

    response = api.get(URL)

    expected = LIST_MATRIX[persona_name]
    if isinstance(expected, int):
        assert_json_error(response, expected)
    else:
        assert set(numbers(response)) == keys(spread, *expected)


def test_a_member_sees_the_results_of_a_patient_it_treats_from_another_member(
    api, spread, world, outsider_clinic_user, centers, hospital_triage
):
    """Mutual recognition: the hospital treats the outsider's patient once it registers them."""
    world["other_patient"].home_institution = world["hospital"]
    world["other_patient"].save()

    listed = numbers(api.as_user(hospital_triage).get(URL))

    assert listed == [spread["outsider"].number]
    detail = api.get(url_of(spread["outsider"])).json()
    assert detail["allowed_actions"] == []


FILTERS = [
    ({"status": "cancelled"}, {"cancelled"}),
    ({"status": ["collected", "reported"]}, {"urgent", "critical"}),
    ({"center": "imaging"}, {"imaging"}),
    ({"priority": "urgent"}, {"urgent"}),
    ({"patient": "other_patient"}, {"outsider"}),
    ({"ordering_institution": "other_center"}, {"outsider"}),
    ({"critical": "true"}, {"critical"}),
    ({"critical": "false"}, {"routine", "urgent", "imaging", "cancelled", "outsider"}),
    ({"ordered_after": "2026-03-10"}, {"imaging", "critical", "cancelled", "outsider"}),
    ({"ordered_before": "2026-03-05"}, {"routine", "urgent"}),
    ({"ordered_after": "2026-03-02", "ordered_before": "2026-03-10"}, {"urgent", "imaging"}),
    ({"q": "王强"}, {"outsider"}),
]


@pytest.mark.parametrize(("params", "expected"), FILTERS)
def test_list_filters(api, alliance_office, world, centers, spread, params, expected):
    ids = world | centers

    def value(v):
        return ids[v].pk if isinstance(v, str) and v in ids else v

    response = api.as_user(alliance_office).get(URL, {k: value(v) for k, v in params.items()})

    assert set(numbers(response)) == keys(spread, *expected)


def test_search_finds_an_order_by_its_number(api, alliance_office, spread):
    number = spread["imaging"].number

    assert numbers(api.as_user(alliance_office).get(URL, {"q": number.lower()})) == [number]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "bogus"),
        ("center", "abc"),
        ("priority", "stat"),
        ("patient", "999999"),
        ("ordering_institution", "999999"),
        ("ordered_after", "not-a-date"),
        ("ordered_before", "2026-13-45"),
    ],
)
def test_an_invalid_filter_value_is_a_400_naming_the_field(
    api, clinic_doctor, spread, field, value
):
    body = assert_json_error(api.as_user(clinic_doctor).get(URL, {field: value}), 400)

    assert field in body["errors"], body


def test_filtering_by_a_patient_the_user_cannot_see_is_refused_like_an_unknown_one(
    api, clinic_doctor, spread, world
):
    response = api.as_user(clinic_doctor).get(URL, {"patient": world["other_patient"].pk})

    assert_field_error(response, "patient")


def walk(client, **params) -> list[str]:
    response = client.get(URL, params)
    seen = []
    while True:
        seen += numbers(response)
        if not response.json()["next"]:
            return seen
        response = client.get(response.json()["next"])


def test_the_list_is_newest_first_and_paginated_by_cursor(api, alliance_office, spread):
    office = api.as_user(alliance_office)

    first = office.get(URL, {"page_size": 2}).json()

    assert set(first) == {"next", "previous", "results"}
    order = ["outsider", "cancelled", "critical", "imaging", "urgent", "routine"]
    assert walk(office, page_size=2) == [spread[name].number for name in order]


@pytest.mark.parametrize("ordering", ["number", "-number", "ordered_at", "-ordered_at"])
def test_following_next_gives_every_order_once_whatever_the_ordering(
    api, alliance_office, spread, ordering
):
    walked = walk(api.as_user(alliance_office), page_size=4, ordering=ordering)

    assert sorted(walked) == sorted(o.number for o in spread.values())
    assert len(walked) == len(spread)


def test_list_rows_carry_the_documented_names_and_a_masked_id(api, clinic_doctor, spread):
    rows = api.as_user(clinic_doctor).get(URL).json()["results"]

    assert rows
    for row in rows:
        assert set(row) >= DOCUMENTED
        assert MASKED_ID.match(row["patient"]["id_number"])
    critical = next(r for r in rows if r["number"] == spread["critical"].number)
    assert critical["critical"] is True and critical["results"]


@pytest.mark.parametrize("cursor", ["abc", "bz0tMSZwPTE=", "cj14"])
def test_a_bad_cursor_is_a_404_json_never_a_500(api, clinic_doctor, spread, cursor):
    assert_json_error(api.as_user(clinic_doctor).get(URL, {"cursor": cursor}), 404)


# token, profile, the user's scope (≤2 look-ups), the page, items, results, the access-log row
ORDER_LIST_QUERIES = 8


@pytest.mark.parametrize("persona_name", ["clinic_doctor", "center_staff", "alliance_office"])
def test_the_order_list_makes_the_same_number_of_queries_for_3_and_for_20_orders(
    api, make_order, request, persona_name, django_assert_max_num_queries
):
    api.as_user(request.getfixturevalue(persona_name))
    for _ in range(3):
        make_order("lab")
    with django_assert_max_num_queries(ORDER_LIST_QUERIES) as few:
        first = api.get(URL, {"page_size": 200})
    for _ in range(17):
        make_order("lab", items=["cbc"])
    with django_assert_max_num_queries(ORDER_LIST_QUERIES) as more:
        second = api.get(URL, {"page_size": 200})

    assert (len(first.json()["results"]), len(second.json()["results"])) == (3, 20)
    assert len(more) == len(few)


def test_the_order_detail_answers_in_a_fixed_number_of_queries(
    doctor, lab_order_in, django_assert_max_num_queries
):
    order = lab_order_in("reported")

    # token, profile, the user's scope (2), the order, items, results, the report's earlier
    # versions, allowed_actions' scope, the access-log row
    with django_assert_max_num_queries(10):
        assert doctor.get(url_of(order)).status_code == 200


# --- Centers -------------------------------------------------------------------------------------


CENTERS_MATRIX = {
    "clinic_doctor": 4,
    "outsider_clinic_user": 4,
    "hospital_triage": 4,
    "center_staff": 4,
    "alliance_office": 4,
    "superuser": 4,
    "bureau_viewer": 0,
    "no_profile_user": 0,
    "anonymous": 401,
}


@pytest.mark.parametrize("persona_name", CENTERS_MATRIX)
def test_each_persona_lists_the_centers_of_its_alliance(api, centers, request, persona_name):
    if persona_name != "anonymous":
        api.as_user(request.getfixturevalue(persona_name))

    response = api.get(CENTERS_URL)

    expected = CENTERS_MATRIX[persona_name]
    if expected == 401:
        assert_json_error(response, 401)
    else:
        assert response.status_code == 200, response.content
        assert response.json()["count"] == expected


def test_a_center_shows_its_active_catalog(api, clinic_doctor, centers, world):
    centers["potassium"].is_active = False
    centers["potassium"].save()

    body = api.as_user(clinic_doctor).get(f"{CENTERS_URL}{centers['lab'].pk}/").json()

    assert {k: body[k] for k in ("name", "kind", "institution", "alliance", "phone")} == {
        "name": "临检中心",
        "kind": "lab",
        "institution": world["hospital"].pk,
        "alliance": world["alliance"].pk,
        "phone": "021-68180000",
    }
    assert body["on_duty_phone"] == "" and body["priority_share_percent"] == 30
    assert body["items"] == [
        {
            "id": centers["cbc"].pk,
            "code": "L001",
            "name": "血常规",
            "modality": "",
            "specimen_type": "blood",
            "tat_routine_hours": "4.00",
            "tat_urgent_hours": "1.00",
            "price": "20.00",
            "mutual_recognition": True,
        },
    ]


def test_a_closed_center_is_not_listed_but_still_answers_by_id(api, clinic_doctor, centers):
    centers["ecg"].is_active = False
    centers["ecg"].save()
    api.as_user(clinic_doctor)

    listed = [row["id"] for row in api.get(CENTERS_URL).json()["results"]]

    assert centers["ecg"].pk not in listed and len(listed) == 3
    assert api.get(f"{CENTERS_URL}{centers['ecg'].pk}/").json()["is_active"] is False


def test_a_center_with_several_staff_is_listed_once(api, clinic_doctor, centers, world):
    for n in range(3):
        centers["lab"].staff.add(staff_user(Role.CENTER_STAFF, world["hospital"], f"lab{n}"))

    body = api.as_user(clinic_doctor).get(CENTERS_URL, {"kind": "lab"}).json()

    assert [row["id"] for row in body["results"]] == [centers["lab"].pk]


def test_a_center_of_another_alliance_is_a_404(api, outsider_clinic_user, centers, world):
    from tests.kit.factories import AllianceFactory, HospitalFactory, MembershipFactory

    foreign_hospital = HospitalFactory(name="联盟外三级医院", district=world["fengxian"])
    elsewhere = AllianceFactory(name="奉贤医联体", lead_institution=foreign_hospital)
    MembershipFactory(alliance=elsewhere, institution=foreign_hospital)
    foreign = centers["lab"].__class__.objects.create(
        name="奉贤临检中心",
        kind="lab",
        institution=foreign_hospital,
        alliance=elsewhere,
        phone="021-57180000",
    )

    assert_json_error(api.as_user(outsider_clinic_user).get(f"{CENTERS_URL}{foreign.pk}/"), 404)


def test_the_center_list_makes_a_fixed_number_of_queries(
    api, clinic_doctor, centers, django_assert_max_num_queries
):
    api.as_user(clinic_doctor)
    # token, profile, the user's alliances, count, page, items
    with django_assert_max_num_queries(6):
        body = api.get(CENTERS_URL).json()

    assert sum(len(c["items"]) for c in body["results"]) == 5


# --- Imaging slots -------------------------------------------------------------------------------


SLOTS_MATRIX = {
    "clinic_doctor": 1,
    "outsider_clinic_user": 1,
    "hospital_triage": 1,
    "center_staff": 1,
    "alliance_office": 1,
    "superuser": 1,
    "bureau_viewer": 403,
    "no_profile_user": 403,
    "anonymous": 401,
}


@pytest.mark.parametrize("persona_name", SLOTS_MATRIX)
def test_each_persona_lists_the_slots_of_its_alliance(api, slot, request, persona_name):
    if persona_name != "anonymous":
        api.as_user(request.getfixturevalue(persona_name))

    response = api.get(SLOTS_URL)

    expected = SLOTS_MATRIX[persona_name]
    if expected >= 400:
        assert_json_error(response, expected)
    else:
        assert response.status_code == 200, response.content
        assert response.json()["count"] == expected


def availability(client, slot) -> tuple:
    body = client.get(f"{SLOTS_URL}{slot.pk}/").json()
    return (
        body["booked"],
        body["booked_priority"],
        body["available_ordinary"],
        body["available_priority"],
    )


def test_the_free_places_change_as_patients_are_booked(
    doctor, make_order, slot, world, clinic_doctor
):
    signed = PatientFactory(
        name="陈静",
        home_institution=world["center"],
        signed=True,
        signing_institution=world["center"],
        signed_on=datetime.date(2025, 1, 1),
    )
    assert availability(doctor, slot) == (0, 0, 7, 10)

    ordinary = make_order("imaging")
    doctor.post(url_of(ordinary, "schedule"), {"slot": slot.pk}, "json")
    assert availability(doctor, slot) == (1, 0, 6, 9)

    green = make_order("imaging", patient=signed)
    assert green.priority_channel
    doctor.post(url_of(green, "schedule"), {"slot": slot.pk}, "json")
    assert availability(doctor, slot) == (2, 1, 6, 8)

    doctor.post(url_of(ordinary, "cancel"), {"reason": "患者改约"}, "json")
    assert availability(doctor, slot) == (1, 1, 7, 9)


def test_the_ordinary_places_end_when_the_slot_is_full_of_green_channel_patients(
    doctor, make_order, centers, world, clinic_doctor
):
    small = later_slot(centers, capacity=3, reserved=1)
    for _ in range(3):
        signed = PatientFactory(
            home_institution=world["center"],
            signed=True,
            signing_institution=world["center"],
            signed_on=datetime.date(2025, 1, 1),
        )
        order = make_order("imaging", patient=signed)
        services.order_schedule(actor=clinic_doctor, order=order, slot=small)

    assert availability(doctor, small) == (3, 3, 0, 0)


def test_a_slot_of_a_center_with_several_staff_counts_each_booking_once(
    doctor, make_order, slot, centers, world, clinic_doctor, imaging_staff
):
    for n in range(3):
        centers["imaging"].staff.add(staff_user(Role.CENTER_STAFF, world["hospital"], f"ct{n}"))
    services.order_schedule(actor=clinic_doctor, order=make_order("imaging"), slot=slot)

    rows = doctor.get(SLOTS_URL).json()["results"]

    assert [(r["id"], r["booked"]) for r in rows] == [(slot.pk, 1)]


def test_past_slots_are_listed_only_when_asked_for(doctor, centers, slot):
    past = later_slot(centers, days=-2)

    assert [r["id"] for r in doctor.get(SLOTS_URL).json()["results"]] == [slot.pk]
    since = (timezone.now() - datetime.timedelta(days=3)).isoformat()
    listed = doctor.get(SLOTS_URL, {"starts_after": since}).json()["results"]
    assert [r["id"] for r in listed] == [past.pk, slot.pk]
    assert doctor.get(f"{SLOTS_URL}{past.pk}/").status_code == 200


def test_slots_filter_by_day_modality_and_center(doctor, centers, slot):
    mri = later_slot(centers, modality="mri", days=1)
    later = later_slot(centers, days=3)
    ecg = ImagingSlot.objects.create(
        center=centers["ecg"],
        modality="ecg",
        starts_at=later.starts_at,
        ends_at=later.ends_at,
        capacity=20,
    )
    tomorrow = timezone.localtime(slot.starts_at).date().isoformat()

    def ids(**params):
        return {r["id"] for r in doctor.get(SLOTS_URL, params).json()["results"]}

    assert ids(date=tomorrow) == {slot.pk, mri.pk}
    assert ids(modality="mri") == {mri.pk}
    assert ids(center=centers["ecg"].pk) == {ecg.pk}
    assert ids(center=centers["imaging"].pk, modality="ct") == {slot.pk, later.pk}


@pytest.mark.parametrize(
    ("field", "value"),
    [("date", "tomorrow"), ("modality", "xray"), ("center", "abc"), ("starts_after", "soon")],
)
def test_an_invalid_slot_filter_is_a_400_naming_it(doctor, slot, field, value):
    body = assert_json_error(doctor.get(SLOTS_URL, {field: value}), 400)

    assert field in body["errors"]


def test_slots_are_read_only(doctor, slot, centers):
    response = doctor.post(SLOTS_URL, {"center": centers["imaging"].pk}, format="json")

    assert_json_error(response, 405)


def test_the_slot_list_makes_the_same_number_of_queries_for_3_and_for_20_slots(
    doctor, centers, make_order, clinic_doctor, django_assert_max_num_queries
):
    slots = [later_slot(centers, hour=8, days=d) for d in range(1, 4)]
    for s in slots:
        services.order_schedule(actor=clinic_doctor, order=make_order("imaging"), slot=s)
    with django_assert_max_num_queries(SLOT_LIST_QUERIES) as few:
        first = doctor.get(SLOTS_URL, {"page_size": 200})
    for d in range(4, 21):
        later_slot(centers, hour=8, days=d)
    with django_assert_max_num_queries(SLOT_LIST_QUERIES) as more:
        second = doctor.get(SLOTS_URL, {"page_size": 200})

    assert (first.json()["count"], second.json()["count"]) == (3, 20)
    assert len(more) == len(few)


SLOT_LIST_QUERIES = 5  # token, profile, the user's alliances, count, page


# --- The schema ----------------------------------------------------------------------------------


def test_the_schema_describes_every_endpoint(api, world):
    response = api.as_user(UserFactory()).get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )

    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for action in (
        "collect",
        "schedule",
        "receive",
        "reject",
        "start",
        "report",
        "acknowledge",
        "cancel",
        "events",
    ):
        assert f"/api/v1/orders/{{id}}/{action}/" in paths, action
    for path in (
        "/api/v1/orders/",
        "/api/v1/centers/",
        "/api/v1/centers/{id}/",
        "/api/v1/slots/",
        "/api/v1/slots/{id}/",
        "/api/v1/sterilization/packages/",
        "/api/v1/sterilization/packages/move/",
        "/api/v1/sterilization/packages/{id}/events/",
        "/api/v1/sterilization/cycles/",
        "/api/v1/sterilization/cycles/{id}/results/",
        "/api/v1/sterilization/cycles/{id}/recall/",
        "/api/v1/sterilization/cycles/{id}/recall-report/",
    ):
        assert path in paths, path
    assert "put" not in paths["/api/v1/orders/{id}/"]
    assert "patch" not in paths["/api/v1/orders/{id}/"]


def test_slots_from_a_time_with_an_offset_postgresql_refuses_are_found(api, center_staff, slot):
    # -21:00 is valid ISO 8601 and a valid Python offset; PostgreSQL accepts only ±15:59.
    response = api.as_user(center_staff).get(
        SLOTS_URL, {"starts_after": "2020-04-03T17:42:08-21:00"}
    )
    assert response.status_code == 200
    assert slot.pk in [s["id"] for s in response.json()["results"]]
