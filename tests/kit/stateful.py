"""The base of the Hypothesis state machines that drive a workflow through its services.

Each example works inside a savepoint rolled back afterwards (what hypothesis.extra.django's
TestCase does per example), so examples never see each other's rows, numbers or outbox messages.
A failed invariant lists the steps of the example that led to it.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import transaction
from hypothesis import Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

OK = "ok"
# No shrinking: on a 2-core runner it may take Hypothesis's full five minutes, and the failure
# message lists the steps of the failing example anyway. Add Phase.shrink to minimise one.
PHASES = [Phase.explicit, Phase.generate]


def name(outcome: object) -> str:
    """OK, or the name of the error class a step must raise."""
    return outcome if outcome == OK else outcome.__name__


class SavepointMachine(RuleBasedStateMachine):
    """A state machine whose example runs in a savepoint; `log` the steps in words."""

    def __init__(self, ctx: dict):
        super().__init__()
        self.ctx = ctx
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        self.log: list[str] = []

    @contextmanager
    def explained(self) -> Iterator[None]:
        """A failed assertion also lists the steps that led to it."""
        try:
            yield
        except AssertionError as exc:
            steps = "\n  ".join(self.log)
            raise AssertionError(f"{exc}\nSteps of this example:\n  {steps}") from None

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.savepoint.__exit__(None, None, None)


def run_machine(factory: Callable[[], SavepointMachine], *, examples: int, steps: int) -> None:
    """Run the machine deterministically (the same examples every run, no example database)."""
    run_state_machine_as_test(
        factory,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            derandomize=True,
            database=None,
            phases=PHASES,
        ),
    )
