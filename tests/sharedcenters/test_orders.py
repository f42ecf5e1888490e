"""Diagnostic orders driven through the services as the UI, API and jobs do: lifecycles, every
refusal of the TRANSITIONS table, the two sides, turnaround, critical values, numbers, visibility.
"""

import datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from alliance.choices import Role
from alliance.models import Notification
from core.errors import ActionNotAllowed, IllegalTransition
from referrals import services as referral_services
from sharedcenters import services, tasks
from sharedcenters.choices import DIAGNOSTIC_KINDS, OrderAction, OrderStatus
from sharedcenters.models import (
    ExamOrder,
    ImagingSlot,
    OrderCounter,
    OrderEvent,
    ServiceItem,
    SharedCenter,
)
from sharedcenters.services.orders import CENTER, ORDERER, TRANSITIONS
from tests.kit.factories import (
    AllianceFactory,
    DepartmentFactory,
    MembershipFactory,
    staff_user,
)
from tests.referrals.conftest import payload
from tests.sharedcenters.conftest import CRITICAL_RESULTS, NORMAL_RESULTS

S = OrderStatus
HOUR = datetime.timedelta(hours=1)
MINUTE = datetime.timedelta(minutes=1)


# --- helpers ---------------------------------------------------------------------------------


def with_status(order: ExamOrder, status: str) -> ExamOrder:
    """The order as if earlier steps had brought it to `status` (the table is what is tested)."""
    ExamOrder.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    return order


def kind_allowing(action: str) -> str:
    return next(kind for kind in DIAGNOSTIC_KINDS if kind in TRANSITIONS[action].kinds)


def arguments(action: str, kind: str, slot=None) -> dict:
    """What each service needs besides actor and order, valid for the order's kind."""
    report = {"results": NORMAL_RESULTS} if kind == "lab" else {"impression": "未见明显异常"}
    return {
        "schedule": {"slot": slot},
        "reject": {"reason": "hemolysis"},
        "report": report,
        "amend": report | {"reason": "复核后更正"},
        "cancel": {"reason": "患者未到"},
    }.get(action, {})


def act(action: str, *, actor, order: ExamOrder, slot=None, **extra) -> ExamOrder:
    service = getattr(services, f"order_{action}")
    kwargs = arguments(action, order.center.kind, slot) | extra
    return service(actor=actor, order=order, **kwargs)


def submitted_referral(world, clinic_doctor, patient=None):
    data = payload(world) | {
        "patient": patient or world["patient"],
        "to_institution": world["hospital"],
        "to_department": world["cardiology"],
    }
    referral, _ = referral_services.referral_create(actor=clinic_doctor, submit=True, **data)
    return referral


def sign(patient, institution) -> None:
    patient.signed, patient.signing_institution = True, institution
    patient.signed_on = datetime.date(2022, 1, 1)
    patient.save()


@pytest.fixture
def actor_for(clinic_doctor, center_staff, imaging_staff):
    """The user acting for a side: the ordering doctor, or the staff of the order's center."""

    def actor(side: str, kind: str):
        if side == ORDERER:
            return clinic_doctor
        return center_staff if kind == "lab" else imaging_staff

    return actor


@pytest.fixture
def ecg_slot(centers):
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=1)
    return ImagingSlot.objects.create(
        center=centers["ecg"],
        modality="ecg",
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=15),
        capacity=5,
    )


@pytest.fixture
def slot_for(slot, ecg_slot):
    return lambda kind: ecg_slot if kind == "ecg" else slot


@pytest.fixture
def foreign_lab(world):
    """A lab of another alliance, with an item: outside the world's alliance."""
    other = AllianceFactory(name="奉贤医联体", lead_institution=world["foreign_center"])
    MembershipFactory(alliance=other, institution=world["foreign_center"])
    lab = SharedCenter.objects.create(
        name="奉贤临检中心",
        kind="lab",
        institution=world["foreign_center"],
        alliance=other,
        phone="021-57100000",
    )
    item = ServiceItem.objects.create(
        center=lab, code="F001", name="血常规", tat_routine_hours=4, tat_urgent_hours=1, price=20
    )
    return {"alliance": other, "lab": lab, "item": item}


# --- the state machine: refusals first ----------------------------------------------------------


ILLEGAL_STATES = [
    pytest.param(action, status, id=f"{action}-from-{status}")
    for action, transition in TRANSITIONS.items()
    for status in OrderStatus.values
    if status not in transition.sources
]


@pytest.mark.parametrize("action, status", ILLEGAL_STATES)
def test_an_action_from_a_state_outside_its_sources_is_illegal_and_changes_nothing(
    make_order, actor_for, slot_for, action, status
):
    kind = kind_allowing(action)
    order = with_status(make_order(kind), status)
    events = OrderEvent.objects.count()
    actor = actor_for(TRANSITIONS[action].side, kind)
    with pytest.raises(IllegalTransition):
        act(action, actor=actor, order=order, slot=slot_for(kind))
    order.refresh_from_db()
    assert order.status == status
    assert OrderEvent.objects.count() == events


WRONG_KINDS = [
    pytest.param(action, kind, id=f"{action}-{kind}")
    for action, transition in TRANSITIONS.items()
    for kind in DIAGNOSTIC_KINDS
    if kind not in transition.kinds
]


@pytest.mark.parametrize("action, kind", WRONG_KINDS)
def test_an_action_that_does_not_apply_to_the_centers_kind_is_illegal(
    make_order, actor_for, slot_for, action, kind
):
    source = sorted(TRANSITIONS[action].sources)[0]
    order = with_status(make_order(kind), source)
    with pytest.raises(IllegalTransition):
        act(
            action,
            actor=actor_for(TRANSITIONS[action].side, kind),
            order=order,
            slot=slot_for(kind),
        )
    order.refresh_from_db()
    assert order.status == source
    assert list(order.events.values_list("action", flat=True)) == [OrderAction.CREATE]


LEGAL_STEPS = [
    pytest.param(action, status, id=f"{action}-from-{status}")
    for action, transition in TRANSITIONS.items()
    for status in sorted(transition.sources)
]


@pytest.mark.parametrize("action, status", LEGAL_STEPS)
def test_every_legal_step_reaches_its_target_and_records_one_event(
    make_order, actor_for, slot_for, action, status
):
    kind = kind_allowing(action)
    order = with_status(make_order(kind), status)
    actor = actor_for(TRANSITIONS[action].side, kind)
    order = act(action, actor=actor, order=order, slot=slot_for(kind))
    assert order.status == TRANSITIONS[action].target
    event = order.events.latest("pk")
    assert (event.action, event.from_status, event.to_status, event.actor) == (
        action,
        status,
        TRANSITIONS[action].target,
        actor,
    )
    assert order.events.count() == 2


# --- sides ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, status", [("collect", S.ORDERED), ("acknowledge", S.REPORTED), ("cancel", S.ORDERED)]
)
def test_the_center_may_not_take_the_orderers_steps(make_order, center_staff, action, status):
    order = with_status(make_order("lab"), status)
    with pytest.raises(ActionNotAllowed):
        act(action, actor=center_staff, order=order)
    assert ExamOrder.objects.get(pk=order.pk).status == status


@pytest.mark.parametrize(
    "action, status",
    [
        ("receive", S.COLLECTED),
        ("reject", S.COLLECTED),
        ("start", S.RECEIVED),
        ("report", S.IN_PROGRESS),
    ],
)
def test_the_orderer_may_not_take_the_centers_steps(make_order, clinic_doctor, action, status):
    order = with_status(make_order("lab"), status)
    with pytest.raises(ActionNotAllowed):
        act(action, actor=clinic_doctor, order=order)
    assert ExamOrder.objects.get(pk=order.pk).status == status


NOBODY_ON_EITHER_SIDE = [
    "alliance_office",
    "outsider_clinic_user",
    "hospital_triage",
    "bureau_viewer",
    "no_profile_user",
]


@pytest.mark.parametrize("action", list(TRANSITIONS))
@pytest.mark.parametrize("someone", NOBODY_ON_EITHER_SIDE)
def test_nobody_outside_the_ordering_institution_and_the_center_may_act(
    request, make_order, slot_for, action, someone
):
    kind = kind_allowing(action)
    actor = request.getfixturevalue(someone)
    source = sorted(TRANSITIONS[action].sources)[0]
    order = with_status(make_order(kind), source)
    with pytest.raises(ActionNotAllowed):
        act(action, actor=actor, order=order, slot=slot_for(kind))
    assert ExamOrder.objects.get(pk=order.pk).status == source


@pytest.mark.parametrize(
    "action, status",
    [
        ("receive", S.COLLECTED),
        ("reject", S.RECEIVED),
        ("start", S.RECEIVED),
        ("report", S.RECEIVED),
    ],
)
def test_staff_of_another_center_may_not_work_the_labs_orders(
    make_order, imaging_staff, cssd_staff, action, status
):
    order = with_status(make_order("lab"), status)
    for actor in (imaging_staff, cssd_staff):
        with pytest.raises(ActionNotAllowed):
            act(action, actor=actor, order=order)
    assert ExamOrder.objects.get(pk=order.pk).status == status


def test_a_superuser_may_act_for_both_sides(lab_order_in, superuser):
    order = services.order_receive(actor=superuser, order=lab_order_in("collected"))
    assert order.status == S.RECEIVED
    assert services.sides_of(superuser, order) == {ORDERER, CENTER}


def test_the_allowed_actions_are_the_buttons_of_each_side(
    lab_order_in, clinic_doctor, center_staff
):
    collected = lab_order_in("collected")
    assert services.allowed_actions(clinic_doctor, collected) == [OrderAction.CANCEL]
    assert services.allowed_actions(center_staff, collected) == [
        OrderAction.RECEIVE,
        OrderAction.REJECT,
    ]


# --- specimen rejection --------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "  ", "broken"])
def test_a_rejection_needs_a_known_reason(lab_order_in, center_staff, reason):
    order = lab_order_in("collected")
    with pytest.raises(ValidationError) as error:
        services.order_reject(actor=center_staff, order=order, reason=reason)
    assert "reason" in error.value.message_dict
    assert ExamOrder.objects.get(pk=order.pk).status == S.COLLECTED


def test_a_rejection_for_another_reason_needs_a_note(lab_order_in, center_staff):
    order = lab_order_in("received")
    with pytest.raises(ValidationError) as error:
        services.order_reject(actor=center_staff, order=order, reason="other", note="  ")
    assert "note" in error.value.message_dict
    assert ExamOrder.objects.get(pk=order.pk).status == S.RECEIVED


def test_a_rejected_specimen_is_collected_and_received_again_with_a_new_due_time(
    lab_order_in, clinic_doctor, center_staff, django_capture_on_commit_callbacks
):
    order = lab_order_in("received")
    with django_capture_on_commit_callbacks(execute=True):
        order = services.order_reject(
            actor=center_staff, order=order, reason="other", note="标本管破裂"
        )
    assert (order.status, order.rejection_reason, order.status_note) == (
        S.REJECTED,
        "other",
        "标本管破裂",
    )
    assert order.received_at is None and order.due_at is None
    assert clinic_doctor.notifications.filter(key__startswith="order-event-").count() == 1

    order = services.order_collect(actor=clinic_doctor, order=order)
    assert order.rejection_reason == "" and order.status_note == ""
    received_again = timezone.now().replace(microsecond=0) + HOUR
    order = services.order_receive(actor=center_staff, order=order, at=received_again)
    assert order.status == S.RECEIVED
    assert order.due_at == received_again + 6 * HOUR
    assert list(order.events.values_list("action", flat=True)) == [
        OrderAction.CREATE,
        OrderAction.COLLECT,
        OrderAction.RECEIVE,
        OrderAction.REJECT,
        OrderAction.COLLECT,
        OrderAction.RECEIVE,
    ]


# --- creating an order: refusals first -----------------------------------------------------------


def test_only_clinical_staff_of_a_member_place_orders(
    world, centers, center_staff, alliance_office, bureau_viewer
):
    for actor in (center_staff, alliance_office, bureau_viewer):
        with pytest.raises(ActionNotAllowed):
            services.order_create(
                actor=actor,
                center=centers["lab"],
                patient=world["patient"],
                items=[centers["cbc"]],
            )
    assert not ExamOrder.objects.exists()


def inactive_item(c):
    return ServiceItem.objects.create(
        center=c.centers["lab"],
        code="L099",
        name="停用项目",
        tat_routine_hours=4,
        tat_urgent_hours=1,
        price=1,
        is_active=False,
    )


# name → (the order_create arguments replacing valid ones, built from the fixtures; field key)
CREATE_REFUSALS = {
    "no items": (lambda c: {"items": []}, "items"),
    "an item of another center": (
        lambda c: {"items": [c.centers["cbc"], c.centers["ct_head"]]},
        "items",
    ),
    "an inactive item": (lambda c: {"items": [inactive_item(c)]}, "items"),
    "an item twice": (lambda c: {"items": [c.centers["cbc"], c.centers["cbc"]]}, "items"),
    "imaging of two modalities": (
        lambda c: {
            "center": c.centers["imaging"],
            "items": [c.centers["ct_head"], c.centers["mri_knee"]],
        },
        "items",
    ),
    "an invisible patient": (lambda c: {"patient": c.world["other_patient"]}, "patient"),
    "a center of another alliance": (
        lambda c: {"center": c.foreign_lab["lab"], "items": [c.foreign_lab["item"]]},
        "center",
    ),
    "the sterilization center": (
        lambda c: {"center": c.centers["cssd"], "items": [c.centers["cbc"]]},
        "center",
    ),
    "a department of another institution": (
        lambda c: {"ordering_department": DepartmentFactory(institution=c.world["other_center"])},
        "ordering_department",
    ),
    "a referral of another patient": (
        lambda c: {
            "referral": submitted_referral(
                c.world, c.clinic_doctor, patient=c.world["station_patient"]
            )
        },
        "referral",
    ),
}


@pytest.mark.parametrize("case", list(CREATE_REFUSALS))
def test_an_invalid_order_is_a_field_error_and_creates_nothing(
    world, centers, foreign_lab, clinic_doctor, case
):
    build, key = CREATE_REFUSALS[case]
    fixtures = SimpleNamespace(
        world=world, centers=centers, foreign_lab=foreign_lab, clinic_doctor=clinic_doctor
    )
    valid = {"center": centers["lab"], "patient": world["patient"], "items": [centers["cbc"]]}
    with pytest.raises(ValidationError) as error:
        services.order_create(actor=clinic_doctor, **valid | build(fixtures))
    assert key in error.value.message_dict
    assert not ExamOrder.objects.exists()
    assert not OrderCounter.objects.exists()


def test_an_unknown_priority_is_a_field_error(world, centers, clinic_doctor):
    with pytest.raises(ValidationError) as error:
        services.order_create(
            actor=clinic_doctor,
            center=centers["lab"],
            patient=world["patient"],
            items=[centers["cbc"]],
            priority="stat",
        )
    assert "priority" in error.value.message_dict


def test_an_order_is_priced_and_recorded_as_ordered(make_order, clinic_doctor, world, centers):
    order = make_order("lab", clinical_info="乏力3天")
    assert (order.status, order.ordering_institution, order.ordering_user) == (
        S.ORDERED,
        world["center"],
        clinic_doctor,
    )
    assert sorted(order.items.values_list("price", flat=True)) == [
        Decimal("8.00"),
        Decimal("20.00"),
    ]
    event = order.events.get()
    assert (event.action, event.from_status, event.to_status, event.at) == (
        OrderAction.CREATE,
        "",
        S.ORDERED,
        order.ordered_at,
    )


@pytest.mark.parametrize(
    "priority, expected", [("routine", Decimal("8.00")), ("urgent", Decimal("2.00"))]
)
def test_the_target_is_the_slowest_items_for_the_priority(make_order, centers, priority, expected):
    centers["liver"] = ServiceItem.objects.create(
        center=centers["lab"],
        code="L003",
        name="肝功能",
        tat_routine_hours=8,
        tat_urgent_hours=2,
        price=40,
    )
    order = make_order("lab", items=["cbc", "potassium", "liver"], priority=priority)
    assert order.target_hours == expected


def test_an_ordinary_order_is_not_in_the_green_channel(make_order):
    assert make_order("imaging").priority_channel is False


def test_a_signed_resident_is_ordered_in_the_green_channel(make_order, world):
    sign(world["patient"], world["center"])
    assert make_order("imaging").priority_channel is True


def test_an_order_linked_to_a_submitted_referral_is_in_the_green_channel(
    make_order, world, clinic_doctor
):
    referral = submitted_referral(world, clinic_doctor)
    order = make_order("imaging", referral=referral)
    assert order.priority_channel is True and order.referral == referral


def test_a_draft_referral_does_not_open_the_green_channel(make_order, world, clinic_doctor):
    data = payload(world) | {
        "patient": world["patient"],
        "to_institution": world["hospital"],
        "to_department": world["cardiology"],
    }
    draft, _ = referral_services.referral_create(actor=clinic_doctor, **data)
    assert make_order("imaging", referral=draft).priority_channel is False


# --- lifecycles and turnaround -------------------------------------------------------------------


def test_a_lab_order_goes_from_ordered_to_acknowledged(make_order, clinic_doctor, center_staff):
    order = make_order("lab")
    order = services.order_collect(actor=clinic_doctor, order=order)
    assert order.status == S.COLLECTED and order.collected_at is not None
    order = services.order_receive(actor=center_staff, order=order)
    assert order.status == S.RECEIVED and order.due_at == order.received_at + 6 * HOUR
    order = services.order_start(actor=center_staff, order=order)
    assert order.status == S.IN_PROGRESS
    order = services.order_report(actor=center_staff, order=order, results=NORMAL_RESULTS)
    assert (order.status, order.reported_by, order.critical) == (S.REPORTED, center_staff, False)
    assert list(order.results.values_list("analyte", "flag")) == [("白细胞", ""), ("血钾", "")]
    order = services.order_acknowledge(actor=clinic_doctor, order=order)
    assert order.status == S.ACKNOWLEDGED and not order.is_open
    assert order.critical_acknowledged_at is None and order.critical_ack_minutes is None
    assert [(e.action, e.from_status, e.to_status) for e in order.events.all()] == [
        (OrderAction.CREATE, "", S.ORDERED),
        (OrderAction.COLLECT, S.ORDERED, S.COLLECTED),
        (OrderAction.RECEIVE, S.COLLECTED, S.RECEIVED),
        (OrderAction.START, S.RECEIVED, S.IN_PROGRESS),
        (OrderAction.REPORT, S.IN_PROGRESS, S.REPORTED),
        (OrderAction.ACKNOWLEDGE, S.REPORTED, S.ACKNOWLEDGED),
    ]


def test_an_imaging_order_is_booked_received_reported_and_acknowledged(
    make_order, clinic_doctor, imaging_staff, slot
):
    order = make_order("imaging")
    order = services.order_schedule(actor=clinic_doctor, order=order, slot=slot)
    assert order.status == S.SCHEDULED and order.slot == slot
    order = services.order_receive(actor=imaging_staff, order=order)
    order = services.order_report(
        actor=imaging_staff, order=order, findings="脑实质未见异常密度", impression="头颅CT未见异常"
    )
    order = services.order_acknowledge(actor=clinic_doctor, order=order)
    assert order.status == S.ACKNOWLEDGED
    assert order.impression == "头颅CT未见异常" and not order.results.exists()
    assert [(e.action, e.to_status) for e in order.events.all()] == [
        (OrderAction.CREATE, S.ORDERED),
        (OrderAction.SCHEDULE, S.SCHEDULED),
        (OrderAction.RECEIVE, S.RECEIVED),
        (OrderAction.REPORT, S.REPORTED),
        (OrderAction.ACKNOWLEDGE, S.ACKNOWLEDGED),
    ]
    assert order.events.get(action=OrderAction.SCHEDULE).data["slot"] == slot.pk


def test_an_ecg_order_follows_the_lab_path(make_order, clinic_doctor, imaging_staff):
    order = make_order("ecg")
    order = services.order_collect(actor=clinic_doctor, order=order)
    order = services.order_receive(actor=imaging_staff, order=order)
    order = services.order_start(actor=imaging_staff, order=order)
    order = services.order_report(actor=imaging_staff, order=order, impression="窦性心律")
    order = services.order_acknowledge(actor=clinic_doctor, order=order)
    assert list(order.events.values_list("to_status", flat=True)) == [
        S.ORDERED,
        S.COLLECTED,
        S.RECEIVED,
        S.IN_PROGRESS,
        S.REPORTED,
        S.ACKNOWLEDGED,
    ]
    assert order.number.startswith("XD-")


def test_a_lab_report_needs_results_and_an_imaging_report_an_impression(
    lab_order_in, make_order, clinic_doctor, center_staff, imaging_staff, slot
):
    with pytest.raises(ValidationError) as error:
        services.order_report(actor=center_staff, order=lab_order_in("in_progress"), results=[])
    assert "results" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        bad_rows = [{"analyte": "血钾", "value": ""}, {"analyte": "钠", "value": "1", "flag": "X"}]
        services.order_report(
            actor=center_staff, order=lab_order_in("in_progress"), results=bad_rows
        )
    assert len(error.value.message_dict["results"]) == 2
    imaging = services.order_schedule(actor=clinic_doctor, order=make_order("imaging"), slot=slot)
    imaging = services.order_receive(actor=imaging_staff, order=imaging)
    with pytest.raises(ValidationError) as error:
        services.order_report(actor=imaging_staff, order=imaging, impression=" ")
    assert "impression" in error.value.message_dict


def timed_lab_order(make_order, clinic_doctor, center_staff, t0, report_after):
    order = make_order("lab", ordered_at=t0)
    order = services.order_collect(actor=clinic_doctor, order=order, at=t0 + 30 * MINUTE)
    order = services.order_receive(actor=center_staff, order=order, at=t0 + HOUR)
    order = services.order_start(actor=center_staff, order=order, at=t0 + 90 * MINUTE)
    order = services.order_report(
        actor=center_staff, order=order, results=NORMAL_RESULTS, at=t0 + report_after
    )
    return services.order_acknowledge(
        actor=clinic_doctor, order=order, at=t0 + report_after + 20 * MINUTE
    )


def event_at(order: ExamOrder, action: str) -> datetime.datetime:
    return order.events.get(action=action).at


def test_turnaround_counts_from_order_and_from_receipt_as_the_events_do(
    make_order, clinic_doctor, center_staff
):
    t0 = timezone.now().replace(microsecond=0) - datetime.timedelta(days=1)
    order = timed_lab_order(make_order, clinic_doctor, center_staff, t0, 4 * HOUR)
    order.refresh_from_db()
    assert order.tat_hours == Decimal("4.0")
    assert order.lab_tat_hours == Decimal("3.0")
    assert order.due_at == t0 + 7 * HOUR and order.on_time is True
    reported = event_at(order, OrderAction.REPORT)
    assert Decimal((reported - event_at(order, OrderAction.CREATE)).total_seconds()) / 3600 == (
        order.tat_hours
    )
    assert Decimal((reported - event_at(order, OrderAction.RECEIVE)).total_seconds()) / 3600 == (
        order.lab_tat_hours
    )
    columns = {
        OrderAction.CREATE: order.ordered_at,
        OrderAction.COLLECT: order.collected_at,
        OrderAction.RECEIVE: order.received_at,
        OrderAction.START: order.started_at,
        OrderAction.REPORT: order.reported_at,
        OrderAction.ACKNOWLEDGE: order.acknowledged_at,
    }
    assert {e.action: e.at for e in order.events.all()} == columns


def test_a_report_after_the_due_time_is_late(make_order, clinic_doctor, center_staff):
    t0 = timezone.now().replace(microsecond=0) - datetime.timedelta(days=1)
    order = timed_lab_order(make_order, clinic_doctor, center_staff, t0, 7 * HOUR + MINUTE)
    assert order.on_time is False
    assert order.lab_tat_hours == Decimal("6.0") and order.tat_hours == Decimal("7.0")


def test_a_report_exactly_at_the_due_time_is_on_time(make_order, clinic_doctor, center_staff):
    t0 = timezone.now().replace(microsecond=0) - datetime.timedelta(days=1)
    order = timed_lab_order(make_order, clinic_doctor, center_staff, t0, 7 * HOUR)
    assert order.on_time is True


def test_an_open_order_has_no_turnaround_yet(lab_order_in):
    order = lab_order_in("received")
    assert (order.tat_hours, order.lab_tat_hours, order.on_time) == (None, None, None)
    assert order.is_open


# --- critical values -----------------------------------------------------------------------------


def test_a_normal_report_tells_the_orderer_without_an_alert(
    lab_order_in, center_staff, clinic_doctor, critical_alerts, django_capture_on_commit_callbacks
):
    order = lab_order_in("in_progress")
    with django_capture_on_commit_callbacks(execute=True):
        order = services.order_report(actor=center_staff, order=order, results=NORMAL_RESULTS)
    assert order.critical is False and order.critical_note == ""
    assert critical_alerts == []
    notification = clinic_doctor.notifications.get()
    assert notification.urgent is False and order.number in notification.title


def test_a_critical_result_alerts_the_departments_on_duty_phone_and_its_staff_at_once(
    world,
    lab_order_in,
    center_staff,
    clinic_doctor,
    ordering_department,
    critical_alerts,
    django_capture_on_commit_callbacks,
):
    colleague = staff_user(Role.COMMUNITY_STAFF, world["center"], department=ordering_department)
    elsewhere = DepartmentFactory(institution=world["center"], name="口腔科")
    other_department = staff_user(Role.COMMUNITY_STAFF, world["center"], department=elsewhere)
    order = lab_order_in("in_progress", ordering_department=ordering_department)
    with django_capture_on_commit_callbacks(execute=True):
        order = services.order_report(actor=center_staff, order=order, results=CRITICAL_RESULTS)
    assert order.critical is True
    assert order.critical_note == "血钾 6.9 mmol/L"
    event = order.events.get(action=OrderAction.REPORT)
    assert event.data["critical"] is True
    assert [phone for phone, _ in critical_alerts] == ["13801700001"]
    assert order.number in critical_alerts[0][1] and "6.9" in critical_alerts[0][1]
    alerted = Notification.objects.filter(key=f"order-event-{event.pk}")
    assert {n.recipient for n in alerted} == {clinic_doctor, colleague}
    assert all(n.urgent for n in alerted)
    assert not other_department.notifications.exists()


def test_a_retried_alert_does_not_phone_twice(
    lab_order_in,
    center_staff,
    ordering_department,
    critical_alerts,
    django_capture_on_commit_callbacks,
):
    order = lab_order_in("in_progress", ordering_department=ordering_department)
    with django_capture_on_commit_callbacks(execute=True):
        order = services.order_report(actor=center_staff, order=order, results=CRITICAL_RESULTS)
    event = order.events.get(action=OrderAction.REPORT)
    tasks.alert_critical_value(order.pk, event.pk)
    assert len(critical_alerts) == 1
    event.refresh_from_db()
    assert event.data["alert_sent"] == "13801700001"


def test_a_critical_value_marked_by_the_doctor_needs_no_flagged_result(
    make_order,
    clinic_doctor,
    imaging_staff,
    slot,
    critical_alerts,
    django_capture_on_commit_callbacks,
):
    order = services.order_schedule(actor=clinic_doctor, order=make_order("imaging"), slot=slot)
    order = services.order_receive(actor=imaging_staff, order=order)
    with django_capture_on_commit_callbacks(execute=True):
        order = services.order_report(
            actor=imaging_staff, order=order, impression="右侧基底节区急性出血", critical=True
        )
    assert order.critical is True and order.critical_note == "右侧基底节区急性出血"
    assert clinic_doctor.notifications.get().urgent is True


def test_acknowledging_a_critical_value_records_who_and_how_many_minutes_later(
    lab_order_in, center_staff, clinic_doctor
):
    reported = timezone.now().replace(microsecond=0) - HOUR
    order = services.order_report(
        actor=center_staff,
        order=lab_order_in("in_progress"),
        results=CRITICAL_RESULTS,
        at=reported,
    )
    order = services.order_acknowledge(
        actor=clinic_doctor, order=order, at=reported + 7 * MINUTE + datetime.timedelta(seconds=40)
    )
    assert order.critical_acknowledged_by == clinic_doctor
    assert order.critical_acknowledged_at == order.acknowledged_at
    assert order.critical_acknowledged_at == event_at(order, OrderAction.ACKNOWLEDGE)
    assert order.critical_ack_minutes == 7


def test_acknowledging_through_an_instance_read_before_the_report_still_records_the_critical_value(
    lab_order_in, center_staff, clinic_doctor
):
    read_earlier = lab_order_in("in_progress")
    services.order_report(actor=center_staff, order=read_earlier, results=CRITICAL_RESULTS)
    order = services.order_acknowledge(actor=clinic_doctor, order=read_earlier)
    assert order.critical_acknowledged_at is not None
    assert order.critical_acknowledged_by == clinic_doctor


def reported_critical(lab_order_in, center_staff, at):
    order = lab_order_in("in_progress")
    return services.order_report(actor=center_staff, order=order, results=CRITICAL_RESULTS, at=at)


def test_unacknowledged_critical_values_past_the_limit_are_escalated_exactly_once(
    settings,
    lab_order_in,
    center_staff,
    clinic_doctor,
    alliance_office,
    critical_alerts,
    django_capture_on_commit_callbacks,
):
    settings.CRITICAL_VALUE_ACK_MINUTES = 10
    now = timezone.now()
    late = reported_critical(lab_order_in, center_staff, now - 30 * MINUTE)
    fresh = reported_critical(lab_order_in, center_staff, now - 2 * MINUTE)
    answered = reported_critical(lab_order_in, center_staff, now - 30 * MINUTE)
    services.order_acknowledge(actor=clinic_doctor, order=answered, at=now - 25 * MINUTE)
    normal = services.order_report(
        actor=center_staff,
        order=lab_order_in("in_progress"),
        results=NORMAL_RESULTS,
        at=now - HOUR,
    )

    with django_capture_on_commit_callbacks(execute=True):
        first = services.escalate_critical_values()
        second = services.escalate_critical_values()

    assert (first, second) == ({"escalated": 1}, {"escalated": 0})
    for order in (late, fresh, answered, normal):
        order.refresh_from_db()
    assert late.critical_escalated_at is not None
    assert (fresh.critical_escalated_at, answered.critical_escalated_at) == (None, None)
    assert normal.critical_escalated_at is None
    escalations = OrderEvent.objects.filter(action=OrderAction.ESCALATE)
    event = escalations.get()
    assert (event.order, event.actor, event.at) == (late, None, late.critical_escalated_at)
    assert event.from_status == event.to_status == S.REPORTED
    office = alliance_office.notifications.get()
    assert office.urgent is True and late.number in office.title
    assert clinic_doctor.notifications.filter(key=f"order-event-{event.pk}").count() == 1


def test_escalation_starts_exactly_at_the_limit(settings, lab_order_in, center_staff):
    settings.CRITICAL_VALUE_ACK_MINUTES = 10
    reported = timezone.now().replace(microsecond=0) - HOUR
    order = reported_critical(lab_order_in, center_staff, reported)
    just_before = reported + 10 * MINUTE - datetime.timedelta(seconds=1)
    assert services.escalate_critical_values(now=just_before) == {"escalated": 0}
    assert services.escalate_critical_values(now=reported + 10 * MINUTE) == {"escalated": 1}
    order.refresh_from_db()
    assert order.critical_escalated_at == reported + 10 * MINUTE


# --- numbers -------------------------------------------------------------------------------------


def test_numbers_count_up_without_gaps_per_prefix_and_day(
    make_order, world, centers, clinic_doctor
):
    today = f"{timezone.localdate():%Y%m%d}"
    first, second = make_order("lab"), make_order("lab")
    with pytest.raises(ValidationError):
        services.order_create(
            actor=clinic_doctor,
            center=centers["lab"],
            patient=world["other_patient"],
            items=[centers["cbc"]],
        )
    third = make_order("lab")
    imaging, ecg = make_order("imaging"), make_order("ecg")
    yesterday = make_order("lab", ordered_at=timezone.now() - datetime.timedelta(days=1))
    assert [first.number, second.number, third.number] == [
        f"JY-{today}-0001",
        f"JY-{today}-0002",
        f"JY-{today}-0003",
    ]
    assert (imaging.number, ecg.number) == (f"YX-{today}-0001", f"XD-{today}-0001")
    day_before = timezone.localdate() - datetime.timedelta(days=1)
    assert yesterday.number == f"JY-{day_before:%Y%m%d}-0001"


def test_the_number_carries_the_local_day_of_the_order(make_order):
    shanghai = ZoneInfo("Asia/Shanghai")
    just_after_midnight = datetime.datetime(2025, 3, 1, 0, 10, tzinfo=shanghai)
    with timezone.override(shanghai):
        order = make_order("lab", ordered_at=just_after_midnight)
    assert order.number == "JY-20250301-0001"


# --- who sees which orders ----------------------------------------------------------------------


def visible(user) -> set[int]:
    return set(ExamOrder.objects.restrict(user).values_list("pk", flat=True))


@pytest.fixture
def three_orders(make_order, clinic_doctor):
    lab, imaging = make_order("lab"), make_order("imaging")
    cancelled = services.order_cancel(actor=clinic_doctor, order=make_order("ecg"), reason="重复")
    return {"lab": lab, "imaging": imaging, "cancelled": cancelled}


@pytest.mark.parametrize(
    "someone", ["bureau_viewer", "outsider_clinic_user", "no_profile_user", "cssd_staff"]
)
def test_the_bureau_outsiders_and_unrelated_center_staff_see_no_order(
    request, three_orders, someone
):
    assert visible(request.getfixturevalue(someone)) == set()


def test_the_ordering_institution_sees_all_its_orders_including_cancelled_ones(
    three_orders, clinic_doctor, world
):
    station_doctor = staff_user(Role.COMMUNITY_STAFF, world["station"])
    assert visible(clinic_doctor) == {order.pk for order in three_orders.values()}
    assert visible(station_doctor) == set()


def test_center_staff_see_the_orders_of_their_own_center_only(
    three_orders, center_staff, imaging_staff
):
    assert visible(center_staff) == {three_orders["lab"].pk}
    assert visible(imaging_staff) == {three_orders["imaging"].pk, three_orders["cancelled"].pk}


def test_the_alliance_office_sees_the_orders_of_its_alliances_centers_only(
    world, three_orders, alliance_office, foreign_lab
):
    foreign_doctor = staff_user(Role.COMMUNITY_STAFF, world["foreign_center"])
    foreign = services.order_create(
        actor=foreign_doctor,
        center=foreign_lab["lab"],
        patient=world["foreign_patient"],
        items=[foreign_lab["item"]],
    )
    assert visible(alliance_office) == {order.pk for order in three_orders.values()}
    assert visible(foreign_doctor) == {foreign.pk}


def test_a_hospital_the_patient_was_referred_to_sees_the_results_but_not_cancelled_orders(
    three_orders, world, clinic_doctor, hospital_triage
):
    assert visible(hospital_triage) == set()
    submitted_referral(world, clinic_doctor)
    assert visible(hospital_triage) == {three_orders["lab"].pk, three_orders["imaging"].pk}
    for order in three_orders.values():
        assert services.sides_of(hospital_triage, order) == set()


def test_center_staff_see_the_patients_of_their_centers_orders(
    world, make_order, center_staff, imaging_staff
):
    from alliance.models import Patient

    make_order("lab")
    assert Patient.objects.restrict(center_staff).filter(pk=world["patient"].pk).exists()
    assert not Patient.objects.restrict(imaging_staff).filter(pk=world["patient"].pk).exists()
