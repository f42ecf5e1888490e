"""One declarative state machine for every stateful model (referral, order, package, ...).

A model declares its `Machine` once: its transitions (action -> sources, target, the sides that
may take it and any further condition), how to find the actor's sides on an object, and how to
build its event row. The same table then answers everything:

- `machine.run(actor, obj, action, changes=...)` locks the row (`select_for_update`), checks the
  actor's side and the state, applies the change, writes exactly one event row and queues the
  side effects through the transactional outbox, in one transaction;
- `machine.allowed_actions(actor, obj)` and `machine.can(actor, obj, action)`: the page's buttons,
  the API's `allowed_actions`, the views' permission checks and the matrix tests;
- `machine.who(action)`: the django-rules predicate (actor, obj) of who may take an action.

The checks run in one order: the actor's side, the object's further condition (`when`), the
state, then any further condition on the actor (`also`).

A refusal is a domain error: `ActionNotAllowed` (403) for the wrong actor, `IllegalTransition`
(409) for the wrong state. Nothing else writes a workflow's status field (tests/core checks).
Numbering is `core.numbering`; events and once-only delivery are `core.events`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import rules
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import outbox
from core.errors import ActionNotAllowed, DomainError, IllegalTransition

SYSTEM = "system"  # the side of the platform's own jobs (actor None)

# A step's side effects: `(task, *args)` each, or a function of the changed row returning them.
Effects = Iterable[tuple] | Callable[[Any], Iterable[tuple]]


def _queue(effects: Effects, obj, event: models.Model) -> None:
    """Each effect through the outbox, in the step's transaction: `task(obj.pk, event.pk, *args)`
    is sent once it has committed, and never if it rolls back."""
    for task, *args in effects(obj) if callable(effects) else effects:
        outbox.enqueue(task, obj.pk, event.pk, *args)


@dataclass(frozen=True)
class Transition:
    """One row of a machine's table. `target` None keeps the state (an edit, a referral back);
    a callable chooses it from the object. `also` is a further rules predicate on (actor, obj);
    `when` a further condition on the object alone, refused as an illegal transition with
    `refusal(obj)` (or the machine's state message)."""

    sources: frozenset[str]
    target: str | Callable[[Any], str] | None
    sides: frozenset[str]
    also: rules.Predicate | None = None
    when: Callable[[Any], bool] | None = None
    refusal: Callable[[Any], str] | None = None
    forbidden: str | None = None  # the wrong-actor message, when the machine's does not fit
    illegal: str | None = None  # the wrong-state message, likewise

    @property
    def side(self) -> str:
        """The side that takes it (the first, for a transition more than one side may take)."""
        return sorted(self.sides)[0]

    def target_of(self, obj, current: str) -> str:
        if self.target is None:
            return current
        return self.target(obj) if callable(self.target) else self.target


def transition(sources: Iterable[str], target, side: str | Iterable[str], **options) -> Transition:
    """`transition({DRAFT}, SUBMITTED, SENDER)`: the short form of a table row."""
    sides = frozenset({side} if isinstance(side, str) else side)
    return Transition(frozenset(sources), target, sides, **options)


# Sides computed once per (actor, object) while one question is answered (allowed_actions asks
# every transition; each side predicate would otherwise look the actor's scope up again).
_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("workflow_sides", default=None)


class Machine:
    """The transitions of one model and the one way to take them."""

    def __init__(
        self,
        model: type[models.Model],
        transitions: dict[str, Transition],
        *,
        sides: Callable[[Any, Any], set[str]],
        event: Callable[..., models.Model],
        field: str | None = "status",
        state: Callable[[Any], str] | None = None,
        lock: Callable[[Any], Any] | None = None,
        labels: Callable[[str], str] | None = None,
        side_labels: dict[str, str] | None = None,
        illegal: str = "",
    ) -> None:
        """`event(obj, action=, actor=, from_status=, to_status=, note=, at=, data=, **extra)`
        returns the unsaved event row. `state` reads the state when it is not a field (a
        follow-up task is done when it has `done_at`). `lock` re-reads the row locked. `illegal`
        is the wrong-state message, with %(status)s, %(action)s and %(number)s."""
        self.model, self.transitions, self.field = model, dict(transitions), field
        self._sides, self._event = sides, event
        self._state = state or (lambda obj: getattr(obj, field))
        self._lock = lock or (lambda obj: model.objects.select_for_update().get(pk=obj.pk))
        self._labels = labels or str
        self._side_labels = side_labels or {}
        self._illegal_message = illegal
        self._side_predicates: dict[str, rules.Predicate] = {}

    # --- who ---------------------------------------------------------------------------------

    def state(self, obj) -> str:
        return self._state(obj)

    def sides_of(self, actor, obj) -> set[str]:
        memo = _memo.get()
        if memo is None:
            return set(self._sides(actor, obj))
        key = (id(self), id(actor), id(obj))
        if key not in memo:
            memo[key] = set(self._sides(actor, obj))
        return memo[key]

    def side(self, name: str) -> rules.Predicate:
        """The rules predicate "the actor acts for side `name` of the object"."""
        if name not in self._side_predicates:
            machine = self

            @rules.predicate(name=f"{self.model._meta.label_lower}:{name}")
            def acts_for(actor, obj) -> bool:
                return name in machine.sides_of(actor, obj)

            self._side_predicates[name] = acts_for
        return self._side_predicates[name]

    def who(self, action: str) -> rules.Predicate:
        """Who may take `action` (whatever the state): its sides, and its further predicate."""
        t = self.transitions[action]
        predicate = self._sides_predicate(t)
        return predicate & t.also if t.also is not None else predicate

    def _sides_predicate(self, t: Transition) -> rules.Predicate:
        predicate = None
        for name in sorted(t.sides):
            predicate = self.side(name) if predicate is None else predicate | self.side(name)
        return predicate

    # --- may they, now ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _remembering(self) -> Iterator[None]:
        token = _memo.set({}) if _memo.get() is None else None
        try:
            yield
        finally:
            if token is not None:
                _memo.reset(token)

    def refusal(self, actor, obj, action: str, *, sides=None) -> DomainError | None:
        """Why `actor` may not take `action` on `obj` now, or None. The actor's side first, then
        the state: the same answer whatever else the request holds. A caller that has the
        actor's sides already passes them (`sides=`): they are not looked up again."""
        t = self.transitions[action]
        with self._remembering():
            if sides is not None:
                _memo.get()[(id(self), id(actor), id(obj))] = set(sides)
            if not self._sides_predicate(t).test(actor, obj):
                return ActionNotAllowed(str(t.forbidden or self._forbidden(t)))
            if t.when is not None and not t.when(obj):
                refusal = t.refusal(obj) if t.refusal else self._illegal(t, obj, action)
                return IllegalTransition(refusal)
            if self.state(obj) not in t.sources:
                return IllegalTransition(self._illegal(t, obj, action))
            # A further condition on the actor comes last: a superuser (who acts for every
            # side) is told the state is wrong before being told the step needs a staff profile.
            if t.also is not None and not t.also.test(actor, obj):
                return ActionNotAllowed(str(t.forbidden or self._forbidden(t)))
        return None

    def can(self, actor, obj, action: str, *, sides=None) -> bool:
        return self.refusal(actor, obj, action, sides=sides) is None

    def allowed_actions(self, actor, obj) -> list[str]:
        """The actions `actor` may take on `obj` now, in table order: the buttons."""
        with self._remembering():
            return [action for action in self.transitions if self.can(actor, obj, action)]

    def actions_of(self, sides: Iterable[str], *, among: Iterable[str] | None = None) -> list[str]:
        """The actions (of `among`, else the whole table) that any of `sides` takes, whatever
        the object and its state, in table order: the choices of a page that acts on objects
        not named yet (a batch scan); each object is still checked when it is."""
        sides, among = set(sides), set(self.transitions if among is None else among)
        return [a for a, t in self.transitions.items() if a in among and t.sides & sides]

    def check(self, actor, obj, action: str) -> Transition:
        """Raise the refusal, if any; `obj` should be the locked row."""
        problem = self.refusal(actor, obj, action)
        if problem is not None:
            raise problem
        return self.transitions[action]

    def _forbidden(self, t: Transition) -> str:
        label = self._side_labels.get(t.side, _("platform"))
        return _("Only the %(side)s may do this.") % {"side": label}

    def _illegal(self, t: Transition, obj, action: str) -> str:
        if t.illegal:
            return str(t.illegal)
        status = obj.get_status_display() if self.field == "status" else self.state(obj)
        words = {"status": status, "action": self._labels(action), "number": str(obj)}
        if self._illegal_message:
            return str(self._illegal_message) % words
        return _("It is %(status)s; it cannot be %(action)s now.") % words

    # --- taking it ---------------------------------------------------------------------------

    def lock(self, obj):
        return self._lock(obj)

    def run(
        self,
        actor,
        obj,
        action: str,
        *,
        changes: dict | None = None,
        note: str = "",
        data: dict | None = None,
        at=None,
        checked: bool = False,
        effects: Effects = (),
        **event_fields,
    ) -> tuple[Any, models.Model]:
        """Lock, check, apply `changes` and the target state, save, write one event, queue
        `effects` (each `(task, *args)`, sent as `task(obj.pk, event.pk, *args)` after the
        commit; or a function of the changed row returning them, when they depend on it).
        A caller that locked and checked first, to validate against the locked row, passes
        that row with `checked=True`. One transaction: any error leaves nothing."""
        if not checked and transaction.get_connection().in_atomic_block:
            # In the caller's transaction (a service's) the row is locked and checked there: a
            # refusal writes nothing, so it needs no savepoint of its own to roll back to (two
            # round trips saved on every refusal; the caller's transaction keeps the lock).
            obj = self.lock(obj)
            self.check(actor, obj, action)
            checked = True
        with transaction.atomic():
            if checked:
                locked, t = obj, self.transitions[action]
            else:
                locked = self.lock(obj)
                t = self.check(actor, locked, action)
            from_status = self.state(locked)
            for name, value in (changes or {}).items():
                setattr(locked, name, value)
            target = t.target_of(locked, from_status)
            if self.field is not None:
                setattr(locked, self.field, target)
            # A step that keeps the state and brings no changes (a referral back) leaves the
            # row as it is: its caller saved what it changed.
            if changes or target != from_status:
                locked.save()
            event = self.event(
                locked, action, actor, from_status, note=note, at=at, data=data, **event_fields
            )
            event.save()
            _queue(effects, locked, event)
        return locked, event

    def run_batch(
        self,
        actor,
        objs: list,
        action: str,
        *,
        fields: tuple[str, ...],
        apply=None,
        note: str = "",
        at=None,
        event_fields: Callable[[Any], dict] | None = None,
    ) -> list[models.Model]:
        """Take `action` on many locked and checked rows at once (a batch scan): `apply(obj)`
        sets each row's other changes; rows alike are written by one UPDATE of `fields` per
        distinct outcome (usually one), and one event per row by one INSERT. Call it inside
        the caller's transaction, the one that locked the rows (no savepoint of its own: a
        batch's query count is pinned)."""
        at = at or timezone.now()
        t = self.transitions[action]
        events = []
        for obj in objs:
            from_status = self.state(obj)
            setattr(obj, self.field, t.target_of(obj, from_status))
            if apply is not None:
                apply(obj)
            extra = event_fields(obj) if event_fields else {}
            events.append(self.event(obj, action, actor, from_status, note=note, at=at, **extra))
        outcomes: dict[tuple, list[int]] = defaultdict(list)
        for obj in objs:
            outcomes[tuple(getattr(obj, name) for name in fields)].append(obj.pk)
        for values, pks in outcomes.items():
            self.model.objects.filter(pk__in=pks).update(**dict(zip(fields, values, strict=True)))
        return type(events[0]).objects.bulk_create(events) if events else []

    def event(
        self, obj, action: str, actor, from_status: str, *, note="", at=None, data=None, **extra
    ) -> models.Model:
        """The unsaved event row of a step (a transition, or a step that is none: a creation,
        an attachment, an escalation)."""
        return self._event(
            obj,
            action=action,
            actor=actor,
            from_status=from_status,
            to_status=self.state(obj),
            note=note,
            at=at or timezone.now(),
            data=data or {},
            **extra,
        )

    def record(
        self, obj, action: str, actor, from_status: str, *, effects: Effects = (), **options
    ) -> models.Model:
        """Write the event of a step that changes no state through the table, and queue its
        `effects` as `run` does (call it inside the step's transaction)."""
        event = self.event(obj, action, actor, from_status, **options)
        event.save()
        _queue(effects, obj, event)
        return event

    def add_rules(self, prefix: str) -> None:
        """Name each action's "may the actor take it now" as a rule `<prefix>.<action>`, for
        templates (`{% test_rule %}`) and `rules.test_rule`."""
        for action in self.transitions:
            rules.set_rule(f"{prefix}.{action}", self._may(action, f"{prefix}.{action}"))

    def _may(self, action: str, name: str) -> rules.Predicate:
        def may(actor, obj) -> bool:
            return self.can(actor, obj, action)

        return rules.predicate(may, name=name)
