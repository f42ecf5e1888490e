"""Named hook stores: where an app plugs into one to its left without being imported by it
(after NetBox's `registry`).

Apps register in their `AppConfig.ready()`; the app that owns the hook point reads the store:

- `patient_visibility`: who may see which patient through a relation (alliance.visibility);
- `patient_panels`: the sections of the patient record page, in order (alliance.views.patients);
- `home_panels`: the work items of the home page, each for the roles it names (alliance.panels);
- `demo_loaders`: each app's demo data, run by `seed_demo` after the apps it names in `after`;
- `alert_backends`: gateways for urgent alerts, named in settings (core.alerts).

A store keeps its entries by name, so registering the same name twice (a second `ready()`, as
in some test runners) replaces the entry instead of adding it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entry:
    name: str
    item: Any
    after: tuple[str, ...] = ()


@dataclass
class Store:
    """Entries by name, read in dependency order: an entry comes after those it names in
    `after` (when registered), otherwise in the order of registration."""

    name: str
    entries: dict[str, Entry] = field(default_factory=dict)

    def register(self, name: str, item: Any, *, after: Sequence[str] = ()) -> Any:
        self.entries[name] = Entry(name, item, tuple(after))
        return item

    def unregister(self, name: str) -> None:
        self.entries.pop(name, None)

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def __getitem__(self, name: str) -> Any:
        return self.entries[name].item

    def get(self, name: str, default: Any = None) -> Any:
        entry = self.entries.get(name)
        return default if entry is None else entry.item

    def names(self) -> list[str]:
        """The names in dependency order."""
        done: list[str] = []

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in done or name not in self.entries:
                return
            if name in path:
                raise ValueError(f"{self.name}: a cycle through {' → '.join((*path, name))}")
            for before in self.entries[name].after:
                visit(before, (*path, name))
            done.append(name)

        for name in self.entries:
            visit(name, ())
        return done

    def __iter__(self) -> Iterator[Any]:
        return iter([self.entries[name].item for name in self.names()])

    def items(self) -> list[tuple[str, Any]]:
        return [(name, self.entries[name].item) for name in self.names()]


patient_visibility = Store("patient_visibility")
patient_panels = Store("patient_panels")
home_panels = Store("home_panels")
demo_loaders = Store("demo_loaders")
alert_backends = Store("alert_backends")

registry: dict[str, Store] = {
    store.name: store
    for store in (patient_visibility, patient_panels, home_panels, demo_loaders, alert_backends)
}

DemoLoader = Callable[[], dict[str, int]]
