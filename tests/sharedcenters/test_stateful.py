"""Random sequences of exam-order actions never break the workflow's invariants (Hypothesis).

A rule-based state machine takes random (action, persona) steps through the services (not HTTP,
for speed) on lab, imaging and ECG orders: every transition with complete or incomplete bodies,
full and wrong slots, and the platform's sweep that escalates unacknowledged critical values. A
small model (the tables of test_matrix.py plus the few checks a service makes around them) says
whether each step must succeed, and if not, with which error. After every step the invariants are
checked against the order's own fields: the state, the timeline of events, the time columns and
the turnaround computed from them.

Each example works inside a savepoint rolled back afterwards (what hypothesis.extra.django's
TestCase does per example). An example starts with one order and starts another once the current
one is closed, so that its later steps still exercise something.
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
from sharedcenters import services
from sharedcenters.choices import OrderStatus
from sharedcenters.models import ExamOrder, ImagingSlot, LabResult, OrderEvent, ReportVersion
from tests.kit.stateful import OK, SavepointMachine, name, run_machine
from tests.sharedcenters.conftest import CRITICAL_RESULTS, NORMAL_RESULTS
from tests.sharedcenters.test_matrix import CENTER, ECG, IMAGING, LAB, ORDERER, RULES

pytestmark = pytest.mark.django_db

KINDS = [LAB, IMAGING, ECG]
ACTIONS = list(RULES)
ROLES = [
    "clinic_doctor",
    "center_staff",
    "imaging_staff",
    "outsider_clinic_user",
    "alliance_office",
    "bureau_viewer",
    "superuser",
]
CLOSED = {"acknowledged", "cancelled"}  # a new order starts; only an amendment moves on
WEIGHTS = {"collect": 3, "schedule": 2, "receive": 3, "start": 2, "report": 3, "acknowledge": 2}
REPORTED = {"reported", "acknowledged"}
RECEIVED = {"received", "in_progress", *REPORTED}
# The time column each action writes, with the same instant as its event.
TIME_OF = {
    "collect": "collected_at",
    "receive": "received_at",
    "start": "started_at",
    "report": "reported_at",
    "acknowledge": "acknowledged_at",
    "cancel": "cancelled_at",
}
# In the order an order's life sets them (each may be empty).
TIMELINE = [
    "ordered_at",
    "collected_at",
    "received_at",
    "started_at",
    "reported_at",
    "acknowledged_at",
]


class OrderWorkflow(SavepointMachine):
    def __init__(self, ctx: dict):
        super().__init__(ctx)
        self.order: ExamOrder | None = None  # the one the steps act on
        self.orders: list[int] = []  # all of this example's, the current one last

    # --- the model --------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return self.order.center.kind

    def sides(self, role: str) -> set[str]:
        return {
            "clinic_doctor": {ORDERER},
            "center_staff": {CENTER} if self.kind == LAB else set(),
            "imaging_staff": {CENTER} if self.kind in (IMAGING, ECG) else set(),
            "superuser": {ORDERER, CENTER},
        }.get(role, set())

    def predict(self, action: str, role: str, args: dict):
        """OK, or the error the services must raise, in the order they check."""
        state = self.order.status
        if action == "reject" and args["reason"] == "other" and not args["note"].strip():
            return ValidationError
        if action == "cancel" and not args["reason"].strip():
            return ValidationError
        side, kinds, sources, _target = RULES[action]
        if side not in self.sides(role):
            return ActionNotAllowed
        if self.kind not in kinds or state not in sources:
            return IllegalTransition
        # Checks made once the order may take the action.
        if action == "schedule":
            if args["slot"].modality != "ct":
                return ValidationError  # not the order's modality
            if args["slot"].pk == self.ctx["slots"]["full"].pk:
                return IllegalTransition
        if action == "amend" and not args["reason"].strip():
            return ValidationError
        if action in ("report", "amend") and args["body"] == "empty":
            return ValidationError
        return OK

    # --- helpers ----------------------------------------------------------------------------

    def fresh(self) -> ExamOrder:
        self.order = ExamOrder.objects.select_related("center").get(pk=self.order.pk)
        return self.order

    def events(self) -> list[OrderEvent]:
        return list(OrderEvent.objects.filter(order=self.order).order_by("pk"))

    def snapshot(self) -> dict:
        return {
            "row": ExamOrder.objects.filter(pk=self.order.pk).values().get(),
            "events": [e.pk for e in self.events()],
            "results": list(LabResult.objects.filter(order=self.order).values()),
            "history": self.order.history.count(),
            "orders": ExamOrder.objects.count(),
            "outbox": OutboxMessage.objects.count(),
            "versions": list(ReportVersion.objects.filter(order=self.order).values()),
        }

    def report_body(self, body: str) -> dict:
        if body == "empty":
            return {}
        critical = body == "critical"
        if self.kind == LAB:
            return {"results": CRITICAL_RESULTS if critical else NORMAL_RESULTS}
        return {
            "findings": "所见如下",
            "impression": "急性心肌梗死" if critical else "未见异常",
            "critical": critical,
        }

    def call(self, action: str, actor, args: dict):
        s = services
        calls = {
            "collect": (s.order_collect, {}),
            "schedule": (s.order_schedule, {"slot": args.get("slot")}),
            "receive": (s.order_receive, {}),
            "reject": (s.order_reject, {"reason": args.get("reason"), "note": args.get("note")}),
            "start": (s.order_start, {}),
            "report": (s.order_report, self.report_body(args.get("body", ""))),
            "acknowledge": (s.order_acknowledge, {}),
            "cancel": (s.order_cancel, {"reason": args.get("reason")}),
            "amend": (
                s.order_amend,
                self.report_body(args.get("body", "")) | {"reason": args.get("reason", "")},
            ),
        }
        service, kwargs = calls[action]
        try:
            service(actor=actor, order=self.order, **kwargs)
        except (ActionNotAllowed, IllegalTransition, ValidationError) as exc:
            return type(exc)
        return OK

    # --- steps ------------------------------------------------------------------------------

    @initialize(kind=st.sampled_from(KINDS))
    def create(self, kind):
        self.new_order(kind)

    def new_order(self, kind: str):
        self.order = self.ctx["make_order"](kind)
        self.orders.append(self.order.pk)
        self.fresh()
        self.log.append(f"{self.order.number}: new {kind} order")

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
        (once this order is closed) a new order."""
        args = {action: self.valid_args(action) for action in ACTIONS}
        allowed = {
            action: roles
            for action in ACTIONS
            for roles in [
                [role for role in ROLES if self.predict(action, role, args[action]) == OK]
            ]
            if roles
        }
        closed = self.order.status in CLOSED
        if not allowed:
            assert closed, "an open order nobody may move"
        choices = [a for a in allowed for _ in range(WEIGHTS.get(a, 1))] + ["sweep"]
        choices += ["new"] * 3 if closed else []
        action = data.draw(st.sampled_from(choices), label="allowed step")
        if action == "sweep":
            self.sweep()
        elif action == "new":
            self.new_order(data.draw(st.sampled_from(KINDS), label="kind"))
        else:
            role = data.draw(st.sampled_from(allowed[action]), label="by")
            if action == "report":  # a normal or a critical result, both complete
                args[action] = {"body": data.draw(st.sampled_from(["normal", "critical"]))}
            elif action == "amend":  # corrected to normal or to critical, with a reason
                body = data.draw(st.sampled_from(["normal", "critical"]), label="amended to")
                args[action] = {"body": body, "reason": "复核后更正"}
            elif action == "schedule":  # book, or move to another day
                args[action] = {"slot": data.draw(st.sampled_from(self.ctx["slots"]["open"]))}
            self.step(action, role, args[action])

    def valid_args(self, action: str) -> dict:
        slots = self.ctx["slots"]
        return {
            "schedule": {"slot": slots["free"]},
            "reject": {"reason": "hemolysis", "note": ""},
            "report": {"body": "normal"},
            "cancel": {"reason": "患者拒绝检查"},
            "amend": {"body": "normal", "reason": "复核后更正"},
        }.get(action, {})

    def draw_args(self, action: str, data) -> dict:
        slots = self.ctx["slots"]
        if action == "schedule":
            every = [slots[name] for name in ("free", "later", "full", "mri")]
            return {"slot": data.draw(st.sampled_from(every), label="slot")}
        if action == "reject":
            reason, note = data.draw(
                st.sampled_from([("hemolysis", ""), ("other", "标本溶血"), ("other", " ")]),
                label="reason",
            )
            return {"reason": reason, "note": note}
        if action == "report":
            body = data.draw(st.sampled_from(["normal", "critical", "empty"]), label="body")
            return {"body": body}
        if action == "cancel":
            return {"reason": data.draw(st.sampled_from(["患者拒绝检查", ""]), label="reason")}
        if action == "amend":
            body = data.draw(st.sampled_from(["normal", "critical", "empty"]), label="body")
            reason = data.draw(st.sampled_from(["复核后更正", " "]), label="reason")
            return {"body": body, "reason": reason}
        return {}

    def step(self, action: str, role: str, args: dict):
        o = self.order
        actor = self.ctx[role]
        predicted = self.predict(action, role, args)
        before = self.snapshot()
        state = o.status

        outcome = self.call(action, actor, args)
        self.log.append(f"{o.number} {state}: {action} by {role} {args} -> {name(outcome)}")

        assert outcome == predicted, (
            f"{action} by {role} in {state}: {name(outcome)}, not {name(predicted)}"
        )
        o = self.fresh()
        if outcome != OK:
            assert self.snapshot() == before, "a refused step changed something"
            return
        assert state not in CLOSED or (state, action) == ("acknowledged", "amend"), (
            "a closed order moved"
        )
        if action == "amend":  # the report replaced is kept, one version more
            versions = ReportVersion.objects.filter(order=o).order_by("version")
            assert versions.count() == len(before["versions"]) + 1
            assert versions.last().reason == args["reason"].strip()
        target = RULES[action][3]
        new = [e for e in self.events() if e.pk not in before["events"]]
        assert [(e.action, e.from_status, e.to_status, e.actor_id) for e in new] == [
            (action, state, target, actor.pk)
        ]
        assert o.status == target

    def sweep(self):
        """The platform's job: a critical value unacknowledged past the limit is escalated once."""
        o = self.order
        before = self.snapshot()
        expected = []
        if (
            o.status == "reported"
            and o.critical
            and o.critical_acknowledged_at is None
            and o.critical_escalated_at is None
        ):
            expected.append(("escalate", "reported", "reported", None))

        services.escalate_critical_values(now=timezone.now() + datetime.timedelta(days=1))
        self.log.append(f"{o.number} {o.status}: sweep of critical values")

        new = [e for e in self.events() if e.pk not in before["events"]]
        assert [(e.action, e.from_status, e.to_status, e.actor_id) for e in new] == expected
        if not expected:
            assert self.snapshot() == before

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def holds(self):
        """For every order of the example, and every slot, after every step."""
        with self.explained():
            for order in ExamOrder.objects.filter(pk__in=self.orders).select_related("center"):
                self.check(order)
            for slot in ImagingSlot.objects.all():  # the places booked never exceed the slot's
                booked = slot.orders.exclude(status="cancelled")
                assert booked.count() <= slot.capacity, slot
                assert booked.filter(priority_channel=False).count() <= slot.ordinary_capacity

    def check(self, o: ExamOrder):
        kind, status = o.center.kind, o.status
        events = list(o.events.order_by("pk"))
        # The state is a known one, and the timeline leads to it without a gap.
        assert status in OrderStatus.values
        assert (events[0].action, events[0].from_status, events[0].to_status) == (
            "create",
            "",
            "ordered",
        )
        for previous, event in zip(events, events[1:], strict=False):
            assert event.from_status == previous.to_status, (previous, event)
        # The sweep's events carry its own clock (a day ahead here); the others follow each other.
        times = [e.at for e in events if e.action != "escalate"]
        assert times == sorted(times)
        assert events[-1].to_status == status
        # Every event is one the rules allow, for this kind of center.
        for event in events[1:]:
            if event.action == "escalate":
                assert (event.from_status, event.to_status, event.actor_id) == (
                    "reported",
                    "reported",
                    None,
                )
                continue
            _side, kinds, sources, target = RULES[event.action]
            assert kind in kinds, event
            assert event.from_status in sources and event.to_status == target, event
        # Each time column holds the instant of the last event that wrote it.
        for action, column in TIME_OF.items():
            value = getattr(o, column)
            if value is not None:
                last = [e.at for e in events if e.action == action][-1]
                assert value == last, (column, value, last)
        # The fields agree with the state.
        assert (o.reported_at is not None) == (status in REPORTED), "reported_at"
        assert (o.reported_by_id is not None) == (status in REPORTED), "reported_by"
        assert (o.acknowledged_at is not None) == (status == "acknowledged"), "acknowledged_at"
        assert (o.cancelled_at is not None) == (status == "cancelled"), "cancelled_at"
        assert (o.received_at is not None) == (status in RECEIVED), "received_at"
        assert (o.due_at is not None) == (o.received_at is not None), "due_at"
        if o.due_at is not None:
            assert o.due_at == o.received_at + datetime.timedelta(hours=float(o.target_hours))
        if o.started_at is not None:
            assert status in ("in_progress", *REPORTED), "started_at"
        if status == "in_progress":
            assert o.started_at is not None
        if kind == IMAGING:
            assert o.collected_at is None
            if status in ("scheduled", *RECEIVED):
                assert o.slot_id is not None, "an imaging order seen without a booking"
        else:
            assert o.slot_id is None
            if status in ("collected", "rejected", *RECEIVED):
                assert o.collected_at is not None, "a specimen never collected"
        if status == "rejected":
            assert o.rejection_reason
        if status in ("collected", *RECEIVED):
            assert o.rejection_reason == "", "a rejection reason left on a usable specimen"
        results = LabResult.objects.filter(order=o).count()
        if status in REPORTED:
            assert results if kind == LAB else o.impression.strip(), "a report without content"
        else:
            assert results == 0 and not o.critical and not o.impression, "reported too early"
        if o.critical_acknowledged_at is not None:
            assert o.critical and status in REPORTED
            if status == "reported":  # an amendment kept the critical value already read
                assert events[-1].action == "amend"
        if status == "acknowledged" and o.critical:
            assert o.critical_acknowledged_at == o.acknowledged_at
            assert o.critical_acknowledged_by_id == events[-1].actor_id
        if o.critical_escalated_at is not None:
            assert o.critical and any(e.action == "escalate" for e in events)
        # Turnaround: computed exactly when there is a report, never negative.
        assert (o.tat_hours is not None) == (status in REPORTED), "tat_hours"
        assert (o.on_time is not None) == (status in REPORTED), "on_time"
        if status in REPORTED:
            assert 0 <= o.lab_tat_hours <= o.tat_hours
        # The timestamps follow each other.
        stamps = {field: getattr(o, field) for field in TIMELINE if getattr(o, field) is not None}
        assert list(stamps.values()) == sorted(stamps.values()), stamps
        if o.cancelled_at is not None:
            assert o.cancelled_at >= max(stamps.values())


EXAMPLES, STEPS = 60, 20


@pytest.fixture
def slots(slot, centers, make_order, clinic_doctor):
    """The tomorrow CT slot of the conftest, another the day after, a full one (its single place
    taken by another order) and an MRI slot, which no CT order may use."""

    def make(days, modality="ct", capacity=10, reserved=3):
        begins = slot.starts_at + datetime.timedelta(days=days)
        return ImagingSlot.objects.create(
            center=centers["imaging"],
            modality=modality,
            starts_at=begins,
            ends_at=begins + datetime.timedelta(minutes=30),
            capacity=capacity,
            priority_reserved=reserved,
        )

    full = make(2, capacity=1, reserved=0)
    services.order_schedule(actor=clinic_doctor, order=make_order("imaging"), slot=full)
    later = make(1)
    return {
        "free": slot,
        "later": later,
        "full": full,
        "mri": make(0, modality="mri"),
        "open": [slot, later],
    }


def test_random_order_sequences_keep_the_invariants(
    make_order,
    slots,
    clinic_doctor,
    center_staff,
    imaging_staff,
    outsider_clinic_user,
    alliance_office,
    bureau_viewer,
    superuser,
    critical_alerts,
):
    ctx = {
        "make_order": make_order,
        "slots": slots,
        "clinic_doctor": clinic_doctor,
        "center_staff": center_staff,
        "imaging_staff": imaging_staff,
        "outsider_clinic_user": outsider_clinic_user,
        "alliance_office": alliance_office,
        "bureau_viewer": bureau_viewer,
        "superuser": superuser,
    }
    run_machine(lambda: OrderWorkflow(ctx), examples=EXAMPLES, steps=STEPS)
