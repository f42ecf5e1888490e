"""The whole state × action × role matrix of the referral API, generated.

Every referral state (Status), every transition action of the API (the POST actions of
ReferralViewSet that change a referral's state, and refer_back) and every persona: the referral is
brought to the state through the services, the persona calls the action, and the answer must be
the one the tables below give. The tables are the rules of the workflow written out as data (not
read from services.TRANSITIONS): which side may take each action from which states, and what each
persona is to a referral from the world's centre to the hospital's cardiology.

The answer, in the order the API checks it:
  403 permission_denied  the role does not work with referrals at all (center staff, bureau);
  404 not_found          the persona cannot see the referral (another centre; a draft is the
                         sender's until submitted, so the receiver cannot see it either);
  403 not_allowed        the persona sees it but the action belongs to the other side;
  409 illegal_transition the persona's side, but not in this state;
  200 (201 refer_back)   done: one event from the state to the target, nothing else moved.
A refusal must leave the referral, its timeline, its history and the outbox exactly as they were.
"""

import datetime

import pytest
from django.utils import timezone

from core.models import OutboxMessage
from referrals import services
from referrals.api.views import ReferralViewSet
from referrals.choices import Direction, Status
from referrals.models import FollowUpTask, Referral, ReferralEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/referrals/"
SENDER, RECEIVER = "sender", "receiver"
CANCELLABLE = {"draft", "submitted", "info_requested", "accepted", "scheduled"}

# action: (the side that takes it, the states it may be taken from, the state it leads to)
RULES: dict[str, tuple[str, set[str], str]] = {
    "submit": (SENDER, {"draft", "info_requested"}, "submitted"),
    "request_info": (RECEIVER, {"submitted"}, "info_requested"),
    "accept": (RECEIVER, {"submitted"}, "accepted"),
    "reject": (RECEIVER, {"submitted"}, "rejected"),
    "redirect": (RECEIVER, {"submitted"}, "submitted"),
    "schedule": (RECEIVER, {"accepted", "scheduled"}, "scheduled"),
    "arrive": (RECEIVER, {"accepted", "scheduled"}, "arrived"),
    "complete": (RECEIVER, {"arrived"}, "completed"),
    "no_show": (RECEIVER, {"scheduled"}, "no_show"),
    "cancel": (SENDER, CANCELLABLE, "cancelled"),
    # Starts the downward referral back; the completed one stays completed.
    "refer_back": (RECEIVER, {"completed"}, "completed"),
}
# An emergency patient may arrive before anyone has accepted.
EMERGENCY_ARRIVE = {"submitted", "accepted", "scheduled"}

STATES = [
    "draft",
    "submitted",
    "info_requested",
    "accepted",
    "scheduled",
    "arrived",
    "completed",
    "rejected",
    "cancelled",
    "expired",
    "no_show",
]
ACTIONS = list(RULES)

# persona: (works with referrals at all, the sides it acts for, sees the draft, sees the rest)
ROLES: dict[str, tuple[bool, set[str], bool, bool]] = {
    "clinic_doctor": (True, {SENDER}, True, True),  # the referring centre
    "hospital_triage": (True, {RECEIVER}, False, True),  # the receiving hospital
    "alliance_office": (True, {SENDER, RECEIVER}, True, True),  # acts for both sides
    "superuser": (True, {SENDER, RECEIVER}, True, True),
    "outsider_clinic_user": (True, set(), False, False),  # another centre of the alliance
    "center_staff": (False, set(), False, False),  # lab staff: no patient referrals
    "bureau_viewer": (False, set(), False, False),  # aggregates only
}

# Cells where the rules above are not the whole story, each with its reason.
EXCEPTIONS = {
    # A superuser has no staff profile, and refer_back creates a referral, which needs one:
    # referral_create refuses (ActionNotAllowed) and the whole request rolls back.
    ("completed", "refer_back", "superuser"): (403, "not_allowed"),
}


# A valid body for each action: a refusal then comes from the state or the role, never the body.
def body(action: str, world) -> dict:
    tomorrow = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    return {
        "submit": {},
        "request_info": {"note": "请补充近期心电图"},
        "accept": {"note": "同意接收"},
        "reject": {"reason": "暂无床位"},
        "redirect": {"to_institution": world["other_center"].pk, "note": "转至四团"},
        "schedule": {"appointment_at": tomorrow, "place": "门诊2楼心内科"},
        "arrive": {},
        "complete": {
            "outcome": "admitted",
            "summary": "PCI术后病情稳定",
            "follow_up_plan": "4周复查",
        },
        "no_show": {},
        "cancel": {"reason": "患者拒绝转诊"},
        "refer_back": {"reason": "病情稳定，回社区康复"},
    }[action]


def expected(state: str, action: str, role: str, *, emergency: bool = False) -> tuple[int, str]:
    """(HTTP status, error code or "") the API must answer, from the tables above."""
    if (state, action, role) in EXCEPTIONS:
        return EXCEPTIONS[state, action, role]
    works, sides, sees_draft, sees_rest = ROLES[role]
    if not works:
        return 403, "permission_denied"
    if not (sees_draft if state == "draft" else sees_rest):
        return 404, "not_found"
    side, sources, _target = RULES[action]
    if emergency and action == "arrive":
        sources = EMERGENCY_ARRIVE
    if side not in sides:
        return 403, "not_allowed"
    if state not in sources:
        return 409, "illegal_transition"
    return (201 if action == "refer_back" else 200), ""


def cell_id(state: str, action: str, role: str) -> str:
    return f"{state}-{action}-{role}"


CELLS = [
    pytest.param(state, action, role, id=cell_id(state, action, role))
    for state in STATES
    for action in ACTIONS
    for role in ROLES
]


@pytest.fixture
def referral_at(referral_in):
    """A referral in any state of STATES, reached through the services. The appointment (where
    the path schedules one) has passed, so that a no-show is the state's question, not the
    clock's; `expired` is what the platform's sweep does to a referral nobody answered."""

    def make(state: str, **overrides):
        if state == "expired":
            referral = referral_in("submitted", **overrides)
            late = referral.due_at + datetime.timedelta(days=365)
            assert services.escalate_overdue(now=late)["expired"] == 1
            referral.refresh_from_db()
        else:
            referral = referral_in(state, appointment_passed=True, **overrides)
        assert referral.status == state
        return referral

    return make


def snapshot(referral: Referral) -> dict:
    """Everything a refused request must leave as it was."""
    return {
        "row": Referral.objects.filter(pk=referral.pk).values().get(),
        "events": list(
            ReferralEvent.objects.filter(referral=referral)
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
        "history": referral.history.count(),  # PostgreSQL triggers; always 0 on SQLite
        "referrals": Referral.objects.count(),
        "follow_ups": FollowUpTask.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


def post(api, user, referral, action, data):
    return api.as_user(user).post(f"{URL}{referral.pk}/{action}/", data, format="json")


def check_cell(api, request, world, referral, state, action, role, emergency=False):
    user = request.getfixturevalue(role)
    status, code = expected(state, action, role, emergency=emergency)
    before = snapshot(referral)

    response = post(api, user, referral, action, body(action, world))

    assert response.status_code == status, response.content
    if status >= 400:
        assert response.json()["code"] == code, response.content
        assert snapshot(referral) == before, "a refused request changed something"
        return
    referral.refresh_from_db()
    new_events = list(
        ReferralEvent.objects.filter(referral=referral).exclude(pk__in=before["events"])
    )
    assert [(e.action, e.from_status, e.to_status, e.actor_id) for e in new_events] == [
        (action, state, RULES[action][2], user.pk)
    ]
    assert referral.status == RULES[action][2]
    if action == "refer_back":
        back = Referral.objects.get(returns_referral=referral)
        assert response.json()["id"] == back.pk
        assert (back.status, back.direction) == (Status.DRAFT, Direction.DOWN)
        assert (back.from_institution_id, back.to_institution_id) == (
            referral.to_institution_id,
            referral.from_institution_id,
        )
        assert Referral.objects.count() == before["referrals"] + 1
    else:
        assert response.json()["status"] == RULES[action][2]
        assert Referral.objects.count() == before["referrals"]


@pytest.mark.parametrize(("state", "action", "role"), CELLS)
def test_matrix(api, request, world, referral_at, state, action, role):
    referral = referral_at(state)
    check_cell(api, request, world, referral, state, action, role)


# The emergency rule changes one column: arrive, which an emergency may take from `submitted`.
EMERGENCY_CELLS = [
    pytest.param(state, role, id=cell_id(state, "arrive", role) + "-emergency")
    for state in STATES
    for role in ROLES
]


@pytest.mark.parametrize(("state", "role"), EMERGENCY_CELLS)
def test_emergency_arrive_matrix(api, request, world, referral_at, alerts, state, role):
    referral = referral_at(state, urgency="emergency")
    check_cell(api, request, world, referral, state, "arrive", role, emergency=True)


# --- the buttons offer exactly what the actions accept ---------------------------------------

BUTTON_CELLS = [
    pytest.param(state, role, urgency, id=f"{state}-{role}" + ("-emergency" if urgency else ""))
    for urgency in ("", "emergency")
    for state in STATES
    for role in ROLES
]


@pytest.mark.parametrize(("state", "role", "urgency"), BUTTON_CELLS)
def test_allowed_actions_are_exactly_the_actions_that_succeed(
    api, request, referral_at, alerts, state, role, urgency
):
    """The detail's `allowed_actions` (the page's buttons): every action it offers is accepted
    and every action it leaves out is refused, cell by cell of the matrix."""
    referral = referral_at(state, **({"urgency": urgency} if urgency else {}))
    user = request.getfixturevalue(role)

    response = api.as_user(user).get(f"{URL}{referral.pk}/")

    works, _sides, sees_draft, sees_rest = ROLES[role]
    if not works or not (sees_draft if state == "draft" else sees_rest):
        assert response.status_code == (404 if works else 403)
        return
    assert response.status_code == 200
    offered = set(response.json()["allowed_actions"]) & set(ACTIONS)  # `edit` is no transition
    succeed = {
        action
        for action in ACTIONS
        if expected(state, action, role, emergency=bool(urgency))[0] < 300
    }
    assert offered == succeed


# --- the tables cover the whole API ------------------------------------------------------------


def test_the_matrix_covers_every_state():
    assert set(STATES) == set(Status.values)


def test_the_matrix_covers_every_transition_action_of_the_api():
    """A new POST action on a referral must be added to RULES (or listed here as not one)."""
    not_transitions = {"attachments"}  # adds a file, in any open state: not a change of state
    posted = {
        extra.__name__
        for extra in ReferralViewSet.get_extra_actions()
        if extra.detail and "post" in extra.mapping
    }
    assert posted - not_transitions == set(RULES)


def test_the_matrix_covers_every_persona_but_the_profileless():
    from tests.conftest import PERSONAS

    assert set(PERSONAS) - set(ROLES) == {"no_profile_user"}


def test_the_matrix_has_the_expected_shape():
    outcomes = [expected(*cell.values)[0] for cell in CELLS]
    assert len(CELLS) == len(STATES) * len(ACTIONS) * len(ROLES) == 847
    assert sum(code < 300 for code in outcomes) == 53
