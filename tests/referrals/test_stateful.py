"""Random sequences of referral actions never break the workflow's invariants (Hypothesis).

A rule-based state machine takes random (action, persona) steps through the services (not HTTP,
for speed): every transition, editing the draft, referring back, and the platform's sweep that
escalates and expires unanswered referrals. A small model (the tables of test_matrix.py plus the
few checks a service makes before them) says whether each step must succeed, and if not, with
which error. After every step the invariants are checked against the referral's own fields.

Each example works inside a savepoint rolled back afterwards (what hypothesis.extra.django's
TestCase does per example), so examples never see each other's rows, numbers or outbox messages.
An example starts with one referral and starts another once the current one is closed, so that
its later steps still exercise something.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import (
    initialize,
    invariant,
    rule,
)

from core.errors import ActionNotAllowed, IllegalTransition
from core.models import OutboxMessage
from referrals import services
from referrals.choices import CLOSED_STATUSES, Status
from referrals.models import FollowUpTask, Referral, ReferralEvent
from tests.kit.stateful import OK, SavepointMachine, name, run_machine
from tests.referrals.conftest import payload
from tests.referrals.test_matrix import EMERGENCY_ARRIVE, RECEIVER, RULES, SENDER

pytestmark = pytest.mark.django_db

# The platform's own transition, taken by its sweep, never by a person.
SYSTEM_RULES = {"expire": ({"submitted"}, "expired")}
# Steps that record an event but leave the state as it is.
KEEPS_STATE = {"create", "edit", "attach", "escalate", "refer_back"}
ACTIONS = [*RULES, "edit"]
ROLES = [
    "clinic_doctor",
    "hospital_triage",
    "outsider_clinic_user",
    "alliance_office",
    "center_staff",
    "bureau_viewer",
    "superuser",
]
CLOSED = {str(status) for status in CLOSED_STATUSES}
URGENCIES = ["routine", "urgent", "emergency"]
WEIGHTS = {
    "submit": 3,
    "accept": 3,
    "schedule": 2,
    "arrive": 3,
    "complete": 3,
    "no_show": 2,
    "refer_back": 2,
}
# Timestamps in the order a referral's life sets them (each may be empty).
TIMELINE = ["created_at", "submitted_at", "responded_at", "arrived_at", "closed_at"]


class ReferralWorkflow(SavepointMachine):
    def __init__(self, ctx: dict):
        super().__init__(ctx)
        self.referral: Referral | None = None  # the one the steps act on
        self.referrals: list[int] = []  # all of this example's, the current one last
        self.referred_back: set[int] = set()

    # --- the model --------------------------------------------------------------------------

    def sides(self, role: str) -> set[str]:
        """The sides a persona acts for, given where the referral is now (it may be redirected
        to the other centre, whose staff then receive it)."""
        to = self.referral.to_institution_id
        return {
            "clinic_doctor": {SENDER},
            "hospital_triage": {RECEIVER} if to == self.ctx["hospital"].pk else set(),
            "outsider_clinic_user": {RECEIVER} if to == self.ctx["other_center"].pk else set(),
            "alliance_office": {SENDER, RECEIVER},
            "superuser": {SENDER, RECEIVER},
        }.get(role, set())

    def predict(self, action: str, role: str, args: dict):
        """OK, or the error the services must raise, in the order they check."""
        r, state = self.referral, self.referral.status
        # Checks made before the side and the state.
        if action == "redirect" and (args["to_institution"].pk, args["to_department_id"]) == (
            r.to_institution_id,
            r.to_department_id,
        ):
            return ValidationError
        if action in ("reject", "cancel") and not args["reason"].strip():
            return ValidationError
        if action == "request_info" and not args["note"].strip():
            return ValidationError
        if action == "no_show" and r.appointment_at and r.appointment_at > timezone.now():
            return IllegalTransition
        sides = self.sides(role)
        if action == "edit":
            if SENDER not in sides:
                return ActionNotAllowed
            return OK if state in ("draft", "info_requested") else IllegalTransition
        side, sources, _target = RULES[action]
        if action == "arrive" and r.urgency == "emergency":
            sources = EMERGENCY_ARRIVE
        if side not in sides:
            return ActionNotAllowed
        if state not in sources:
            return IllegalTransition
        if action == "refer_back":
            if r.to_institution_id != self.ctx["hospital"].pk or r.pk in self.referred_back:
                return IllegalTransition  # only an upward referral, and only once
            if role == "superuser":
                return ActionNotAllowed  # no staff profile: may not create the referral back
        return OK

    # --- helpers ----------------------------------------------------------------------------

    def fresh(self) -> Referral:
        self.referral = Referral.objects.get(pk=self.referral.pk)
        return self.referral

    def events(self) -> list[ReferralEvent]:
        return list(ReferralEvent.objects.filter(referral=self.referral).order_by("pk"))

    def snapshot(self) -> dict:
        return {
            "row": Referral.objects.filter(pk=self.referral.pk).values().get(),
            "events": [e.pk for e in self.events()],
            "history": self.referral.history.count(),
            "referrals": Referral.objects.count(),
            "follow_ups": FollowUpTask.objects.count(),
            "outbox": OutboxMessage.objects.count(),
        }

    def run(self, service, **kwargs):
        try:
            service(**kwargs)
        except (ActionNotAllowed, IllegalTransition, ValidationError) as exc:
            return type(exc)
        return OK

    # --- steps ------------------------------------------------------------------------------

    @initialize(urgency=st.sampled_from(URGENCIES))
    def create(self, urgency):
        self.new_referral(urgency)

    def new_referral(self, urgency: str):
        """The centre's doctor refers the world's patient to the hospital's cardiology."""
        world = self.ctx["world"]
        data = payload(world, urgency=urgency) | {
            "patient": world["patient"],
            "to_institution": world["hospital"],
            "to_department": world["cardiology"],
        }
        self.referral, created = services.referral_create(actor=self.ctx["clinic_doctor"], **data)
        assert created
        self.referrals.append(self.referral.pk)
        self.log.append(f"{self.referral.number}: new {urgency} referral")

    @rule(data=st.data(), mode=st.sampled_from(["allowed", "allowed", "illegal", "anything"]))
    def one_step(self, data, mode):
        """Half the time a step the model allows; else one it refuses for the state (by someone
        of the right side, with a complete body), or any action by anyone with any body."""
        with self.explained():
            self.fresh()
            if mode == "allowed":
                self.something_allowed(data)
            elif mode == "illegal":
                self.something_illegal(data)
            else:
                action = data.draw(st.sampled_from(ACTIONS), label="action")
                role = data.draw(st.sampled_from(ROLES), label="by")
                self.step(action, role, self.draw_args(action, data))

    def something_illegal(self, data):
        """An action its side may take, but not in this state: the service must refuse it."""
        candidates = [
            (action, role)
            for action in ACTIONS
            for args in [self.valid_args(action)]
            if args is not None
            for role in ROLES
            if self.predict(action, role, args) is IllegalTransition
        ]
        if candidates:
            action, role = data.draw(st.sampled_from(candidates), label="illegal step")
            self.step(action, role, self.valid_args(action))

    def something_allowed(self, data):
        """An action the model says must succeed now, by someone who may take it, the sweep, or
        (once this referral is closed) a new referral: random steps alone seldom get far."""
        allowed = {
            action: roles
            for action in ACTIONS
            for args in [self.valid_args(action)]
            if args is not None
            for roles in [[role for role in ROLES if self.predict(action, role, args) == OK]]
            if roles
        }
        closed = self.referral.status in CLOSED
        if not allowed:
            assert closed, "an open referral nobody may move"
        # Steps that move a referral on weigh more than those that end or repeat it.
        choices = [a for a in allowed for _ in range(WEIGHTS.get(a, 1))] + ["sweep"]
        choices += ["new"] * 3 if closed else []
        action = data.draw(st.sampled_from(choices), label="allowed step")
        if action == "sweep":
            self.sweep(data.draw(st.sampled_from(["escalate", "expire"]), label="lateness"))
        elif action == "new":
            self.new_referral(data.draw(st.sampled_from(URGENCIES), label="urgency"))
        else:
            role = data.draw(st.sampled_from(allowed[action]), label="by")
            self.step(action, role, self.valid_args(action))

    def step(self, action: str, role: str, args: dict):
        r = self.referral
        actor = self.ctx[role]
        predicted = self.predict(action, role, args)
        before = self.snapshot()
        state = r.status

        outcome = self.call(action, actor, r, args)
        self.log.append(f"{r.number} {state}: {action} by {role} {args} -> {name(outcome)}")

        assert outcome == predicted, (
            f"{action} by {role} in {state}: {name(outcome)}, not {name(predicted)}"
        )
        r = self.fresh()
        if outcome != OK:
            assert self.snapshot() == before, "a refused step changed something"
            return
        assert state not in CLOSED or action == "refer_back", "a closed referral moved"
        target = state if action in KEEPS_STATE else RULES[action][2]
        new = [e for e in self.events() if e.pk not in before["events"]]
        assert [(e.action, e.from_status, e.to_status, e.actor_id) for e in new] == [
            (action, state, target, actor.pk)
        ]
        assert r.status == target
        if action == "refer_back":
            self.referred_back.add(r.pk)
            assert Referral.objects.filter(returns_referral=r).count() == 1

    def targets(self) -> list[tuple]:
        world = self.ctx["world"]
        return [
            (world["hospital"], world["cardiology"]),
            (world["hospital"], None),
            (world["other_center"], None),
        ]

    def valid_args(self, action: str) -> dict | None:
        """A complete body: the first redirect target that is not the current one."""
        r = self.referral
        if action == "redirect":
            for to, department in self.targets():
                if (to.pk, getattr(department, "pk", None)) != (
                    r.to_institution_id,
                    r.to_department_id,
                ):
                    return self.redirect_args(to, department)
            return None
        return {
            "schedule": {"appointment_at": timezone.now(), "place": "门诊2楼心内科"},
            "reject": {"reason": "暂无床位"},
            "cancel": {"reason": "患者拒绝"},
            "request_info": {"note": "请补充心电图"},
        }.get(action, {})

    @staticmethod
    def redirect_args(to, department) -> dict:
        return {
            "to_institution": to,
            "to_department_id": getattr(department, "pk", None),
            "to_department": department,
        }

    def draw_args(self, action: str, data) -> dict:
        if action == "redirect":
            return self.redirect_args(*data.draw(st.sampled_from(self.targets()), label="target"))
        if action == "schedule":
            days = data.draw(st.sampled_from([1, 0]), label="appointment in days")
            at = timezone.now() + datetime.timedelta(days=days)  # today's has already begun
            return {"appointment_at": at, "place": "门诊2楼心内科"}
        if action in ("reject", "cancel"):
            return {"reason": data.draw(st.sampled_from(["患者拒绝", " "]), label="reason")}
        if action == "request_info":
            return {"note": data.draw(st.sampled_from(["请补充心电图", ""]), label="note")}
        return {}

    def call(self, action: str, actor, r: Referral, args: dict):
        s = services
        plain = {"actor": actor, "referral": r}
        if action == "redirect":
            return self.run(
                s.referral_redirect,
                **plain,
                to_institution=args["to_institution"],
                to_department=args["to_department"],
            )
        calls = {
            "submit": (s.referral_submit, {}),
            "request_info": (s.referral_request_info, args),
            "accept": (s.referral_accept, {}),
            "reject": (s.referral_reject, args),
            "schedule": (s.referral_schedule, args),
            "arrive": (s.referral_arrive, {}),
            "complete": (s.referral_complete, {"outcome": "admitted", "summary": "好转出院"}),
            "no_show": (s.referral_no_show, {}),
            "cancel": (s.referral_cancel, args),
            "refer_back": (s.referral_refer_back, {}),
            "edit": (s.referral_update, {"reason": "补充：胸痛加重"}),
        }
        service, kwargs = calls[action]
        return self.run(service, **plain, **kwargs)

    def sweep(self, late: str):
        """The platform's job: past the deadline it escalates once; long past it, expires."""
        r = self.fresh()
        before = self.snapshot()
        state = r.status
        expected = []
        if state == "submitted":
            if r.escalated_at is None:
                expected.append(("escalate", state, state, None))
            if late == "expire":
                expected.append(("expire", state, "expired", None))
        if late == "escalate":
            now = r.due_at + datetime.timedelta(seconds=1) if r.due_at else timezone.now()
        else:
            now = timezone.now() + datetime.timedelta(days=1000)

        services.escalate_overdue(now=now)
        self.log.append(f"{r.number} {state}: sweep ({late})")

        new = [e for e in self.events() if e.pk not in before["events"]]
        assert [(e.action, e.from_status, e.to_status, e.actor_id) for e in new] == expected
        if not expected:
            assert self.snapshot() == before

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def holds(self):
        """For every referral of the example, after every step."""
        with self.explained():
            for r in Referral.objects.filter(pk__in=self.referrals):
                self.check(r)

    def check(self, r: Referral):
        events = list(r.events.order_by("pk"))
        # The state is a known one, and the timeline leads to it without a gap.
        assert r.status in Status.values
        assert (events[0].action, events[0].from_status, events[0].to_status) == (
            "create",
            "",
            "draft",
        )
        for previous, event in zip(events, events[1:], strict=False):
            assert event.from_status == previous.to_status, (previous, event)
            assert event.at >= previous.at
        assert events[-1].to_status == r.status
        # Every event is one the rules allow.
        for event in events[1:]:
            if event.action in KEEPS_STATE:
                assert event.from_status == event.to_status, event
            elif event.action in SYSTEM_RULES:
                sources, target = SYSTEM_RULES[event.action]
                assert event.from_status in sources and event.to_status == target, event
                assert event.actor_id is None
            else:
                _side, sources, target = RULES[event.action]
                if event.action == "arrive" and r.urgency == "emergency":
                    sources = EMERGENCY_ARRIVE
                assert event.from_status in sources and event.to_status == target, event
        # The fields agree with the state.
        status = r.status
        assert (r.closed_at is not None) == (status in CLOSED), "closed_at"
        if status == "draft":
            assert r.submitted_at is None and r.due_at is None
        if status not in ("draft", "cancelled"):
            assert r.submitted_at is not None and r.due_at is not None, "never submitted"
        if status in ("draft", "submitted", "info_requested"):
            assert r.responded_at is None, "answered but waiting"
        if status in ("accepted", "scheduled", "arrived", "completed", "rejected"):
            assert r.responded_at is not None, "not answered"
        assert (r.arrived_at is not None) == (status in ("arrived", "completed")), "arrived_at"
        if status == "scheduled":
            assert r.appointment_at is not None and r.appointment_place
        assert bool(r.outcome) == (status == "completed"), "outcome"
        if r.escalated_at is not None:
            assert any(e.action == "escalate" for e in events)
        up = r.to_institution_id == self.ctx["hospital"].pk  # else redirected to the other centre
        assert r.direction == ("up" if up else "lateral"), "direction"
        # The timestamps follow each other.
        stamps = {field: getattr(r, field) for field in TIMELINE if getattr(r, field) is not None}
        assert list(stamps.values()) == sorted(stamps.values()), stamps


EXAMPLES, STEPS = 60, 20


def test_random_referral_sequences_keep_the_invariants(
    world,
    clinic_doctor,
    hospital_triage,
    outsider_clinic_user,
    alliance_office,
    center_staff,
    bureau_viewer,
    superuser,
    alerts,
):
    ctx = {
        "world": world,
        "hospital": world["hospital"],
        "other_center": world["other_center"],
        "clinic_doctor": clinic_doctor,
        "hospital_triage": hospital_triage,
        "outsider_clinic_user": outsider_clinic_user,
        "alliance_office": alliance_office,
        "center_staff": center_staff,
        "bureau_viewer": bureau_viewer,
        "superuser": superuser,
    }
    run_machine(lambda: ReferralWorkflow(ctx), examples=EXAMPLES, steps=STEPS)
