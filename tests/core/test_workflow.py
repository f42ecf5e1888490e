"""The one state machine (core.workflow): the kernel's behaviour, then issue 14's "done when":
every transition of every stateful model's table writes exactly one event, and no other code
changes a status field."""

import datetime
import re
from pathlib import Path

import pytest
import rules
from django.utils import timezone

from core.errors import ActionNotAllowed, IllegalTransition
from core.events import deliver_once
from core.models import OutboxMessage
from core.numbering import next_number
from core.workflow import Machine, transition
from referrals import services as referral_services
from referrals.models import DailyCounter, FollowUpEvent, FollowUpTask, Referral, ReferralEvent
from referrals.workflow import FOLLOW_UP, REFERRAL, SENDER
from referrals.workflow import sides_of as referral_sides
from sharedcenters import services as center_services
from sharedcenters.models import (
    CycleEvent,
    OrderEvent,
    Package,
    PackageEvent,
    SterilizationCycle,
    SupplyRequestEvent,
)
from sharedcenters.workflow import CYCLES, ORDERS, PACKAGE_MOVES, PACKAGES, SUPPLY_REQUESTS
from tests.sharedcenters.conftest import NORMAL_RESULTS

pytestmark = pytest.mark.django_db

# --- the kernel -------------------------------------------------------------------------------


def _machine(event=None) -> Machine:
    """A one-step machine on the referral: the sender takes a draft to `submitted`."""
    return Machine(
        Referral,
        {"go": transition({"draft"}, "submitted", SENDER)},
        sides=referral_sides,
        event=event
        or (lambda referral, *, at, **fields: ReferralEvent(referral=referral, **fields)),
    )


def _events(referral) -> list[tuple[str, str, str]]:
    return list(referral.events.values_list("action", "from_status", "to_status"))


def test_a_transition_applies_the_change_and_writes_exactly_one_event(make_referral, clinic_doctor):
    referral = make_referral(status="draft")
    before = referral.events.count()
    machine = _machine()
    changed, event = machine.run(clinic_doctor, referral, "go", note="n", changes={"reason": "x"})
    referral.refresh_from_db()
    assert (referral.status, referral.reason) == ("submitted", "x")
    assert referral.events.count() == before + 1
    assert (event.action, event.from_status, event.to_status, event.actor, event.note) == (
        "go",
        "draft",
        "submitted",
        clinic_doctor,
        "n",
    )


def test_a_transition_from_the_wrong_state_is_illegal_and_changes_nothing(
    referral_in, clinic_doctor
):
    referral = referral_in("submitted")
    before = _events(referral)
    with pytest.raises(IllegalTransition) as refusal:
        _machine().run(clinic_doctor, referral, "go")
    assert refusal.value.status_code == 409
    referral.refresh_from_db()
    assert referral.status == "submitted" and _events(referral) == before


def test_the_wrong_actor_is_refused_before_the_state_is_looked_at(
    referral_in, outsider_clinic_user, hospital_triage
):
    referral = referral_in("submitted")  # the wrong state too: the actor is refused first
    for actor in (outsider_clinic_user, hospital_triage):
        with pytest.raises(ActionNotAllowed) as refusal:
            _machine().run(actor, referral, "go")
        assert refusal.value.status_code == 403
    assert not _machine().can(hospital_triage, referral, "go")


def test_an_error_after_the_change_rolls_everything_back(make_referral, clinic_doctor):
    """The change, the event and the outbox message are one transaction: all or nothing."""
    referral = make_referral(status="draft")
    events, messages = referral.events.count(), OutboxMessage.objects.count()

    def broken_event(referral, **fields):
        raise RuntimeError("the event table is gone")

    with pytest.raises(RuntimeError):
        _machine(broken_event).run(
            clinic_doctor, referral, "go", effects=[("referrals.tasks.nothing", "x")]
        )
    referral.refresh_from_db()
    assert referral.status == "draft"
    assert referral.events.count() == events and OutboxMessage.objects.count() == messages


def test_effects_go_through_the_outbox_with_the_object_and_the_event(
    make_referral, clinic_doctor, django_capture_on_commit_callbacks
):
    referral = make_referral(status="draft")
    with django_capture_on_commit_callbacks(execute=False):
        _referral, event = _machine().run(
            clinic_doctor, referral, "go", effects=[("referrals.tasks.nothing", "extra")]
        )
    message = OutboxMessage.objects.latest("pk")
    assert (message.task, message.args) == (
        "referrals.tasks.nothing",
        [referral.pk, event.pk, "extra"],
    )


def test_effects_may_be_decided_on_the_changed_row(
    make_referral, clinic_doctor, django_capture_on_commit_callbacks
):
    """A function of the locked, changed row: what it says, not the caller's copy, decides."""
    referral = make_referral(status="draft")
    seen = []

    def effects(changed):
        seen.append((changed.status, changed.reason))
        return [("referrals.tasks.nothing", changed.reason)]

    with django_capture_on_commit_callbacks(execute=False):
        _referral, event = _machine().run(
            clinic_doctor, referral, "go", changes={"reason": "x"}, effects=effects
        )
    assert seen == [("submitted", "x")]
    message = OutboxMessage.objects.latest("pk")
    assert message.args == [referral.pk, event.pk, "x"]


def test_a_step_that_is_no_transition_queues_its_effects_with_its_event(
    make_referral, clinic_doctor, django_capture_on_commit_callbacks
):
    referral = make_referral(status="draft")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = REFERRAL.record(
            referral, "attach", clinic_doctor, "draft", effects=[("referrals.tasks.nothing",)]
        )
    assert len(callbacks) == 1
    message = OutboxMessage.objects.latest("pk")
    assert (message.task, message.args) == ("referrals.tasks.nothing", [referral.pk, event.pk])


def test_actions_of_sides_are_read_from_the_table_whatever_the_object():
    """A batch scan's choices before any barcode: the steps the sides take, in table order."""
    member = PACKAGES.actions_of({"member"}, among=PACKAGE_MOVES)
    assert member == ["collect", "receive_by_member", "use", "expire"]
    assert "block" not in PACKAGES.actions_of({"center"}, among=PACKAGE_MOVES)
    assert PACKAGES.actions_of({"center"})[-1] == "block"  # the whole table: the recall's step
    assert PACKAGES.actions_of(set()) == []


def test_who_is_a_rules_predicate_and_the_actions_are_named_rules(
    referral_in, clinic_doctor, hospital_triage
):
    referral = referral_in("submitted")
    assert isinstance(REFERRAL.who("accept"), rules.Predicate)
    assert REFERRAL.who("accept").test(hospital_triage, referral)
    assert not REFERRAL.who("accept").test(clinic_doctor, referral)
    assert rules.test_rule("referrals.referral.accept", hospital_triage, referral)
    assert not rules.test_rule("referrals.referral.submit", clinic_doctor, referral)  # state
    assert rules.test_rule("referrals.referral.cancel", clinic_doctor, referral)


def test_allowed_actions_are_the_actions_can_allows(referral_in, clinic_doctor, hospital_triage):
    referral = referral_in("submitted")
    for actor in (clinic_doctor, hospital_triage):
        allowed = REFERRAL.allowed_actions(actor, referral)
        assert allowed == [a for a in REFERRAL.transitions if REFERRAL.can(actor, referral, a)]
    assert REFERRAL.allowed_actions(hospital_triage, referral) == [
        "accept",
        "request_info",
        "reject",
        "redirect",
    ]


def test_numbers_count_per_key_in_the_given_format():
    day = datetime.date(2026, 12, 7)
    template = "ZZ-{day:%Y%m%d}-{last:04d}"
    assert next_number(DailyCounter, template, day=day) == "ZZ-20261207-0001"
    assert next_number(DailyCounter, template, day=day) == "ZZ-20261207-0002"
    assert next_number(DailyCounter, template, day=day + datetime.timedelta(days=1)) == (
        "ZZ-20261208-0001"
    )
    assert referral_services.next_number(day) == "ZZ-20261207-0003"
    assert center_services.orders.next_number("JY", day) == "JY-20261207-0001"


def test_a_side_effect_is_delivered_once_per_event(make_referral, clinic_doctor):
    referral = make_referral(status="draft")
    event = REFERRAL.record(referral, "edit", clinic_doctor, "draft")
    calls = []
    assert deliver_once(ReferralEvent, event.pk, lambda: calls.append(1), mark="sent", value="x")
    assert not deliver_once(ReferralEvent, event.pk, lambda: calls.append(1), mark="sent")
    event.refresh_from_db()
    assert calls == [1] and event.data == {"sent": "x"}


# --- every transition of every table writes exactly one event ----------------------------------


def _drive_referral(action, f):
    """(object, take it): the referral in a state the action is taken from."""
    doctor, triage = f["clinic_doctor"], f["hospital_triage"]
    s = referral_services
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    drivers = {
        "submit": ("draft", lambda r: s.referral_submit(actor=doctor, referral=r)),
        "accept": ("submitted", lambda r: s.referral_accept(actor=triage, referral=r)),
        "request_info": (
            "submitted",
            lambda r: s.referral_request_info(actor=triage, referral=r, note="请补充"),
        ),
        "reject": ("submitted", lambda r: s.referral_reject(actor=triage, referral=r, reason="满")),
        "redirect": (
            "submitted",
            lambda r: s.referral_redirect(
                actor=triage, referral=r, to_institution=f["world"]["other_center"]
            ),
        ),
        "schedule": (
            "accepted",
            lambda r: s.referral_schedule(
                actor=triage, referral=r, appointment_at=tomorrow, place="门诊"
            ),
        ),
        "arrive": ("scheduled", lambda r: s.referral_arrive(actor=triage, referral=r)),
        "complete": (
            "arrived",
            lambda r: s.referral_complete(
                actor=triage, referral=r, outcome="admitted", summary="稳定"
            ),
        ),
        "no_show": ("no_show_due", lambda r: s.referral_no_show(actor=triage, referral=r)),
        "cancel": ("submitted", lambda r: s.referral_cancel(actor=doctor, referral=r, reason="拒")),
        "expire": ("submitted", _expire),
        "refer_back": ("completed", lambda r: s.referral_refer_back(actor=triage, referral=r)),
        "edit": ("draft", lambda r: s.referral_update(actor=doctor, referral=r, reason="补充")),
    }
    state, take = drivers[action]
    if state == "no_show_due":
        referral = f["referral_in"]("scheduled", appointment_passed=True)
    else:
        referral = f["referral_in"](state)
    return referral, take


def _expire(referral):
    # Escalated already, so the sweep takes the one step asked of it.
    now = timezone.now()
    Referral.objects.filter(pk=referral.pk).update(
        due_at=now - datetime.timedelta(days=400), escalated_at=now
    )
    referral_services.escalate_overdue(now=now)


def _drive_follow_up(action, f):
    referral = f["referral_in"]("submitted")
    task = FollowUpTask.objects.create(
        referral=referral,
        patient=referral.patient,
        institution=f["world"]["center"],
        kind="visit",
        description="血压随访",
        due_on=timezone.localdate(),
    )
    return task, lambda t: referral_services.follow_up_done(
        actor=f["clinic_doctor"], task=t, note="ok"
    )


def _drive_order(action, f):
    s, doctor, lab = center_services, f["clinic_doctor"], f["center_staff"]
    drivers = {
        "collect": ("ordered", lambda o: s.order_collect(actor=doctor, order=o)),
        "receive": ("collected", lambda o: s.order_receive(actor=lab, order=o)),
        "reject": ("collected", lambda o: s.order_reject(actor=lab, order=o, reason="hemolysis")),
        "start": ("received", lambda o: s.order_start(actor=lab, order=o)),
        "report": (
            "in_progress",
            lambda o: s.order_report(actor=lab, order=o, results=NORMAL_RESULTS),
        ),
        "amend": (
            "reported",
            lambda o: s.order_amend(actor=lab, order=o, reason="笔误", results=NORMAL_RESULTS),
        ),
        "acknowledge": ("reported", lambda o: s.order_acknowledge(actor=doctor, order=o)),
        "cancel": ("ordered", lambda o: s.order_cancel(actor=doctor, order=o, reason="未到")),
    }
    if action == "schedule":
        order = f["make_order"]("imaging")
        return order, lambda o: s.order_schedule(actor=doctor, order=o, slot=f["slot"])
    state, take = drivers[action]
    return f["lab_order_in"](state), take


def _cycle(f, number: str, results=None) -> SterilizationCycle:
    cycle = center_services.cycle_start(
        actor=f["cssd_staff"],
        center=f["centers"]["cssd"],
        sterilizer="1号",
        cycle_number=number,
        method="steam",
    )
    if results:
        center_services.cycle_record_results(actor=f["cssd_staff"], cycle=cycle, **results)
    return cycle


PASSED = {"physical": "passed", "chemical": "passed", "biological": "passed"}
# The steps that bring a stored package (or a registered one) to each state, and who takes them.
PACKAGE_PATH = {
    "received": [],
    "cleaned": ["clean"],
    "inspected_packed": ["clean", "pack"],
    "stored": None,
    "dispatched": ["dispatch"],
    "received_by_member": ["dispatch", "receive_by_member"],
    "used": ["dispatch", "receive_by_member", "use"],
    "collected": ["dispatch", "receive_by_member", "use", "collect"],
}


def _package_in(state, f) -> Package:
    cssd, doctor = f["cssd_staff"], f["clinic_doctor"]
    if state in ("received", "cleaned", "inspected_packed"):
        package = f["make_packages"](1)[0]
        steps = PACKAGE_PATH[state]
    elif state == "sterilized":
        package = _package_in("inspected_packed", f)
        center_services.packages_move(
            actor=cssd,
            barcodes=[package.barcode],
            action="sterilize",
            cycle=_cycle(f, "LOAD-1"),
        )
        cycle = SterilizationCycle.objects.get(cycle_number="LOAD-1")
        center_services.cycle_record_results(actor=cssd, cycle=cycle, **PASSED)
        steps = []
    else:
        package = f["stored_packages"](1)[0]
        steps = PACKAGE_PATH[state] or []
    for step in steps:
        actor = doctor if step in ("receive_by_member", "use", "collect") else cssd
        center_services.packages_move(actor=actor, barcodes=[package.barcode], action=step)
    return Package.objects.get(pk=package.pk)


def _drive_package(action, f):
    cssd, doctor = f["cssd_staff"], f["clinic_doctor"]
    sources = {
        "collect": ("used", doctor),
        "receive": ("collected", cssd),
        "clean": ("received", cssd),
        "pack": ("cleaned", cssd),
        "sterilize": ("inspected_packed", cssd),
        "store": ("sterilized", cssd),
        "dispatch": ("stored", cssd),
        "receive_by_member": ("dispatched", doctor),
        "use": ("received_by_member", doctor),
        "expire": ("stored", cssd),
    }
    if action == "block":
        package = _package_in("stored", f)
        return package, lambda p: center_services.cycle_recall(
            actor=cssd, cycle=p.cycle, reason="生物监测阳性"
        )
    state, actor = sources[action]
    package = _package_in(state, f)
    extra = {"cycle": _cycle(f, "LOAD-2")} if action == "sterilize" else {}
    return package, lambda p: center_services.packages_move(
        actor=actor, barcodes=[p.barcode], action=action, **extra
    )


def _drive_supply_request(action, f):
    if action == "cancel":
        return f["make_supply_request"](), lambda r: center_services.supply_request_cancel(
            actor=f["clinic_doctor"], request=r
        )
    request = f["make_supply_request"]([(f["instrument_set"], 1)])
    package = f["stored_packages"](1)[0]
    return request, lambda r: center_services.packages_move(
        actor=f["cssd_staff"], barcodes=[package.barcode], action="dispatch", supply_request=r
    )


def _drive_cycle(action, f):
    cssd = f["cssd_staff"]
    record = center_services.cycle_record_results
    pending = {"physical": "passed", "chemical": "passed", "biological": "pending"}
    drivers = {
        "release": (None, lambda c: record(actor=cssd, cycle=c, **pending)),
        "fail": (None, lambda c: record(actor=cssd, cycle=c, **pending | {"physical": "failed"})),
        "record": (pending, lambda c: record(actor=cssd, cycle=c, **PASSED)),
        "recall": (
            pending,
            lambda c: center_services.cycle_recall(actor=cssd, cycle=c, reason="x"),
        ),
    }
    results, take = drivers[action]
    return _cycle(f, f"C-{action}", results), take


# machine, its event rows of one object, the driver; the actions each driver's call takes
# beyond the one asked (a failed cycle is recalled at once).
MACHINES = {
    "referral": (REFERRAL, lambda r: ReferralEvent.objects.filter(referral=r), _drive_referral),
    "follow_up": (FOLLOW_UP, lambda t: FollowUpEvent.objects.filter(task=t), _drive_follow_up),
    "order": (ORDERS, lambda o: OrderEvent.objects.filter(order=o), _drive_order),
    "package": (PACKAGES, lambda p: PackageEvent.objects.filter(package=p), _drive_package),
    "supply_request": (
        SUPPLY_REQUESTS,
        lambda r: SupplyRequestEvent.objects.filter(request=r),
        _drive_supply_request,
    ),
    "cycle": (CYCLES, lambda c: CycleEvent.objects.filter(cycle=c), _drive_cycle),
}
ALSO_TAKEN = {("cycle", "fail"): ["recall"]}
CASES = [
    (model, action)
    for model, (machine, _events_of, _drive) in MACHINES.items()
    for action in machine.transitions
]


@pytest.fixture
def f(request, world, clinic_doctor, hospital_triage, center_staff, cssd_staff):
    names = (
        "referral_in",
        "make_order",
        "lab_order_in",
        "slot",
        "make_packages",
        "stored_packages",
        "make_supply_request",
        "instrument_set",
        "centers",
    )
    return {
        "world": world,
        "clinic_doctor": clinic_doctor,
        "hospital_triage": hospital_triage,
        "center_staff": center_staff,
        "cssd_staff": cssd_staff,
    } | {name: request.getfixturevalue(name) for name in names}


@pytest.mark.parametrize(("model", "action"), CASES, ids=[f"{m}-{a}" for m, a in CASES])
def test_every_transition_writes_exactly_one_event(f, model, action):
    machine, events_of, drive = MACHINES[model]
    obj, take = drive(action, f)
    obj = type(obj).objects.get(pk=obj.pk)
    state = machine.state(obj)
    assert state in machine.transitions[action].sources, f"the driver left it {state}"
    seen = set(events_of(obj).values_list("pk", flat=True))
    take(obj)
    obj.refresh_from_db()
    new = list(events_of(obj).exclude(pk__in=seen).order_by("pk"))
    expected = [action, *ALSO_TAKEN.get((model, action), [])]
    if model == "package":  # a package's event names its two states, not the action
        target = machine.transitions[action].target_of(obj, state)
        assert [(e.from_status, e.to_status) for e in new] == [(state, target)]
    else:
        assert [e.action for e in new] == expected
        assert new[0].from_status == state
    assert new[-1].to_status == machine.state(obj)


# --- nobody else writes a status ----------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_APPS = ("alliance", "referrals", "sharedcenters", "reporting")
STATUS_WRITE = re.compile(
    r"\.status\s*=(?!=)"  # obj.status = ...
    r"|\.update\((?:[^()]|\([^()]*\))*?\bstatus\s*="  # .update(..., status=...)
    r"|\bsetattr\([^,]+,\s*[\"']status[\"']",  # setattr(obj, "status", ...)
    re.DOTALL,
)
# Not workflows: a reporting job's status is its progress (claimed by `job_claim`, finished by
# its task; issue 14 names six stateful models), and in a view `self.status` is the list's
# filter and `context.update(status=...)` hands it to the template.
ALLOWED = [
    ("reporting/", re.compile(r"^(Job\.objects\.|job\.status =|locked\.status = JobStatus\.)")),
    ("reporting/services/jobs.py", re.compile(r"^\.update\(status=JobStatus\.")),
    ("/views", re.compile(r"^(self\.status =|context\.update\()")),
]


def _allowed(path: str, text: str) -> bool:
    return any(where in path and rule.match(text) for where, rule in ALLOWED)


def test_no_code_outside_the_kernel_writes_a_status():
    offenders = []
    for app in DOMAIN_APPS:
        for file in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in file.parts or "tests" in file.parts:
                continue
            source = file.read_text(encoding="utf-8")
            path = file.relative_to(ROOT).as_posix()
            for match in STATUS_WRITE.finditer(source):
                line = source.count("\n", 0, match.start()) + 1
                text = source.splitlines()[line - 1].strip()
                if not _allowed(path, text):
                    offenders.append(f"{path}:{line}: {text}")
    assert not offenders, "status written outside core.workflow:\n" + "\n".join(offenders)


def test_the_status_scan_finds_what_it_looks_for():
    written = [
        "x.status = 'a'",
        "Q.objects.filter(pk=1).update(status='b')",
        "qs.update(\n    updated_at=now,\n    status=S,\n)",
        "setattr(obj, 'status', v)",
    ]
    for line in written:
        assert STATUS_WRITE.search(line), line
    for line in (
        "x.status == 'a'",
        "qs.filter(status='a')",
        "Event(to_status='a')",
        "qs.update(from_status=1)",
    ):
        assert not STATUS_WRITE.search(line), line


RULE_PREFIXES = {
    REFERRAL: "referrals.referral",
    FOLLOW_UP: "referrals.followuptask",
    ORDERS: "sharedcenters.examorder",
    PACKAGES: "sharedcenters.package",
    SUPPLY_REQUESTS: "sharedcenters.supplyrequest",
    CYCLES: "sharedcenters.sterilizationcycle",
}


def test_every_action_of_every_machine_is_a_named_rule():
    missing = [
        f"{prefix}.{action}"
        for machine, prefix in RULE_PREFIXES.items()
        for action in machine.transitions
        if not rules.rule_exists(f"{prefix}.{action}")
    ]
    assert not missing
