"""The whole state × action × role matrix of the exam-order API, generated: lab and imaging.

Every order state a lab order can reach (and, for imaging, every state of its booked path), every
transition action of the API and every persona: the order is brought to the state through the
services, the persona calls the action, and the answer must be the one the tables below give. The
tables are the rules written out as data (not read from services.TRANSITIONS): which side may
take each action, for which kinds of center, from which states.

The answer, in the order the API checks it:
  403 permission_denied  the role does not act on orders (the alliance office reads them only;
                         the bureau sees aggregates only);
  404 not_found          the persona cannot see the order (another centre; staff of another
                         center);
  403 not_allowed        the persona sees it but the action belongs to the other side;
  409 illegal_transition the persona's side, but not for this kind of center or in this state;
  200                    done: one event from the state to the target, nothing else moved.
A refusal must leave the order, its results, its timeline, its history and the outbox as they
were.
"""

import datetime

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from sharedcenters import services
from sharedcenters.api.views import ExamOrderViewSet
from sharedcenters.choices import OrderStatus
from sharedcenters.models import ExamOrder, ImagingSlot, LabResult, OrderEvent
from tests.sharedcenters.conftest import NORMAL_RESULTS

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"
ORDERER, CENTER = "orderer", "center"
LAB, IMAGING, ECG = "lab", "imaging", "ecg"
ALL_KINDS = {LAB, IMAGING, ECG}

# action: (the side that takes it, the kinds of center it exists for, from which states, to)
RULES: dict[str, tuple[str, set[str], set[str], str]] = {
    "collect": (ORDERER, {LAB, ECG}, {"ordered", "rejected"}, "collected"),
    "schedule": (ORDERER, {IMAGING}, {"ordered", "scheduled"}, "scheduled"),
    "receive": (CENTER, ALL_KINDS, {"collected", "scheduled"}, "received"),
    "reject": (CENTER, {LAB}, {"collected", "received"}, "rejected"),
    "start": (CENTER, ALL_KINDS, {"received"}, "in_progress"),
    "report": (CENTER, ALL_KINDS, {"received", "in_progress"}, "reported"),
    "amend": (CENTER, ALL_KINDS, {"reported", "acknowledged"}, "reported"),
    "acknowledge": (ORDERER, ALL_KINDS, {"reported"}, "acknowledged"),
    "cancel": (ORDERER, ALL_KINDS, {"ordered", "collected", "scheduled", "rejected"}, "cancelled"),
}
ACTIONS = list(RULES)

# The services that bring an order to each state, as the two sides would click.
PATHS = {
    LAB: {
        "ordered": [],
        "collected": ["collect"],
        "received": ["collect", "receive"],
        "rejected": ["collect", "reject"],
        "in_progress": ["collect", "receive", "start"],
        "reported": ["collect", "receive", "start", "report"],
        "acknowledged": ["collect", "receive", "start", "report", "acknowledge"],
        "cancelled": ["cancel"],
    },
    IMAGING: {
        "ordered": [],
        "scheduled": ["schedule"],
        "received": ["schedule", "receive"],
        "in_progress": ["schedule", "receive", "start"],
        "reported": ["schedule", "receive", "start", "report"],
        "acknowledged": ["schedule", "receive", "start", "report", "acknowledge"],
        "cancelled": ["schedule", "cancel"],  # a booked place given back
    },
}

# persona: (may act on orders at all, {kind of the order's center: the sides it acts for}),
# a kind missing from the dict being an order the persona cannot see.
ROLES: dict[str, tuple[bool, dict[str, set[str]]]] = {
    "clinic_doctor": (True, {LAB: {ORDERER}, IMAGING: {ORDERER}}),  # the ordering centre
    "center_staff": (True, {LAB: {CENTER}}),  # works at the lab
    "imaging_staff": (True, {IMAGING: {CENTER}}),  # works at imaging (and ECG)
    "outsider_clinic_user": (True, {}),  # another centre of the alliance
    "alliance_office": (False, {}),  # reads orders, acts on none
    "bureau_viewer": (False, {}),
    "superuser": (True, {LAB: {ORDERER, CENTER}, IMAGING: {ORDERER, CENTER}}),
}


def expected(kind: str, state: str, action: str, role: str) -> tuple[int, str]:
    """(HTTP status, error code or "") the API must answer, from the tables above."""
    acts, sides_by_kind = ROLES[role]
    if not acts:
        return 403, "permission_denied"
    if kind not in sides_by_kind:
        return 404, "not_found"
    side, kinds, sources, _target = RULES[action]
    if side not in sides_by_kind[kind]:
        return 403, "not_allowed"
    if kind not in kinds or state not in sources:
        return 409, "illegal_transition"
    return 200, ""


def cells(kind: str):
    return [
        pytest.param(state, action, role, id=f"{state}-{action}-{role}")
        for state in PATHS[kind]
        for action in ACTIONS
        for role in ROLES
    ]


@pytest.fixture
def slots(centers):
    """Two CT slots of the imaging center, tomorrow and the day after: one for the path, one to
    schedule (or move) an order into."""
    start = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)

    def slot(days):
        begins = start + datetime.timedelta(days=days)
        return ImagingSlot.objects.create(
            center=centers["imaging"],
            modality="ct",
            starts_at=begins,
            ends_at=begins + datetime.timedelta(minutes=30),
            capacity=10,
            priority_reserved=3,
        )

    return slot(1), slot(2)


@pytest.fixture
def order_at(make_order, slots, clinic_doctor, center_staff, imaging_staff):
    """`order_at("lab", "reported")`: an order brought to that state through the services."""

    def make(kind: str, state: str) -> ExamOrder:
        staff = {LAB: center_staff, IMAGING: imaging_staff}[kind]
        report = {"results": NORMAL_RESULTS} if kind == LAB else {"impression": "未见明显异常"}
        steps = {
            "collect": (services.order_collect, clinic_doctor, {}),
            "schedule": (services.order_schedule, clinic_doctor, {"slot": slots[0]}),
            "receive": (services.order_receive, staff, {}),
            "reject": (services.order_reject, staff, {"reason": "hemolysis"}),
            "start": (services.order_start, staff, {}),
            "report": (services.order_report, staff, report),
            "acknowledge": (services.order_acknowledge, clinic_doctor, {}),
            "cancel": (services.order_cancel, clinic_doctor, {"reason": "患者未到"}),
        }
        order = make_order(kind)
        for step in PATHS[kind][state]:
            service, actor, kwargs = steps[step]
            order = service(actor=actor, order=order, **kwargs)
        assert order.status == state
        return order

    return make


def body(kind: str, action: str, slots) -> dict:
    """A valid body: a refusal then comes from the state, the kind or the role, never the body."""
    report = (
        {"results": NORMAL_RESULTS}
        if kind == LAB
        else {"findings": "脑实质未见异常密度影", "impression": "头颅CT平扫未见明显异常"}
    )
    return {
        "collect": {"note": "已采血"},
        "schedule": {"slot": slots[1].pk},
        "receive": {},
        "reject": {"reason": "hemolysis", "note": "溶血"},
        "start": {},
        "report": report,
        "amend": report | {"reason": "复核后更正"},
        "acknowledge": {"note": "已阅"},
        "cancel": {"reason": "患者拒绝检查"},
    }[action]


def snapshot(order: ExamOrder) -> dict:
    """Everything a refused request must leave as it was."""
    return {
        "row": ExamOrder.objects.filter(pk=order.pk).values().get(),
        "events": list(
            OrderEvent.objects.filter(order=order).order_by("pk").values_list("pk", flat=True)
        ),
        "results": list(LabResult.objects.filter(order=order).values()),
        "history": order.history.count(),  # PostgreSQL triggers; always 0 on SQLite
        "orders": ExamOrder.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


def check_cell(api, request, slots, kind, order, state, action, role):
    user = request.getfixturevalue(role)
    status, code = expected(kind, state, action, role)
    before = snapshot(order)

    response = api.as_user(user).post(
        f"{URL}{order.pk}/{action}/", body(kind, action, slots), format="json"
    )

    assert response.status_code == status, response.content
    if status >= 400:
        assert response.json()["code"] == code, response.content
        assert snapshot(order) == before, "a refused request changed something"
        return
    target = RULES[action][3]
    order.refresh_from_db()
    new_events = list(OrderEvent.objects.filter(order=order).exclude(pk__in=before["events"]))
    assert [(e.action, e.from_status, e.to_status, e.actor_id) for e in new_events] == [
        (action, state, target, user.pk)
    ]
    assert order.status == response.json()["status"] == target
    assert ExamOrder.objects.count() == before["orders"]


@pytest.mark.parametrize(("state", "action", "role"), cells(LAB))
def test_lab_matrix(api, request, order_at, slots, state, action, role):
    order = order_at(LAB, state)
    check_cell(api, request, slots, LAB, order, state, action, role)


@pytest.mark.parametrize(("state", "action", "role"), cells(IMAGING))
def test_imaging_matrix(api, request, order_at, slots, state, action, role):
    order = order_at(IMAGING, state)
    check_cell(api, request, slots, IMAGING, order, state, action, role)


# --- the buttons offer exactly what the actions accept ---------------------------------------

BUTTON_CELLS = [
    pytest.param(kind, state, role, id=f"{kind}-{state}-{role}")
    for kind in PATHS
    for state in PATHS[kind]
    for role in ROLES
]


@pytest.mark.parametrize(("kind", "state", "role"), BUTTON_CELLS)
def test_allowed_actions_are_exactly_the_actions_that_succeed(
    api, request, order_at, kind, state, role
):
    """The detail's `allowed_actions` (the page's buttons) offers every action the matrix
    accepts and none it refuses."""
    order = order_at(kind, state)

    response = api.as_user(request.getfixturevalue(role)).get(f"{URL}{order.pk}/")

    acts, sides_by_kind = ROLES[role]
    if kind not in sides_by_kind and role != "alliance_office":
        assert response.status_code == (404 if acts else 403)
        return
    assert response.status_code == 200  # the office reads every order of its alliance
    succeed = {action for action in ACTIONS if expected(kind, state, action, role)[0] < 300}
    assert set(response.json()["allowed_actions"]) == succeed


# --- the tables cover the whole API ------------------------------------------------------------


def test_the_paths_cover_every_state():
    assert set(PATHS[LAB]) | set(PATHS[IMAGING]) == set(OrderStatus.values)


def test_the_matrix_covers_every_transition_action_of_the_api():
    posted = {
        extra.__name__
        for extra in ExamOrderViewSet.get_extra_actions()
        if extra.detail and "post" in extra.mapping
    }
    assert posted == set(RULES)


def test_the_matrix_has_the_expected_shape():
    lab = [expected(LAB, *cell.values)[0] for cell in cells(LAB)]
    imaging = [expected(IMAGING, *cell.values)[0] for cell in cells(IMAGING)]
    assert (len(lab), len(imaging)) == (8 * 9 * 7, 7 * 9 * 7)
    assert (sum(code < 300 for code in lab), sum(code < 300 for code in imaging)) == (28, 22)
