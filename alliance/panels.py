"""Sections of the patient record page that other apps contribute (its referrals, its exam
orders), so that alliance, which they build on, never imports them.

An app registers a `PatientPanel` in its `AppConfig.ready()`; the page renders each panel's
template, in registration order (`after` to place one behind another), with `panel.rows`, the
records its `rows(user, patient)` returns: a lazy queryset, read while the template renders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core import registry


@dataclass(frozen=True)
class PatientPanel:
    template: str
    rows: Callable[[Any, Any], Iterable]


@dataclass(frozen=True)
class BoundPanel:
    """A panel for one request: what its template reads."""

    template: str
    rows: Iterable


def register_panel(name: str, panel: PatientPanel, *, after: Sequence[str] = ()) -> None:
    registry.patient_panels.register(name, panel, after=after)


def panels_for(user, patient) -> list[BoundPanel]:
    return [BoundPanel(p.template, p.rows(user, patient)) for p in registry.patient_panels]


# --- the home page's work items ---------------------------------------------------------------


@dataclass(frozen=True)
class HomeItem:
    """One line of a home panel: a count and the page where that work is done."""

    label: str
    count: int
    url: str
    tone: str = ""  # "danger", "warning" or "" (a Tabler badge colour when the count is not 0)


@dataclass(frozen=True)
class HomePanel:
    """A section of the home page for the roles it names: `items(user)` returns its lines (each
    count one query), `rows(user)` an optional short list of records (number, text, url)."""

    title: str
    roles: frozenset[str]
    items: Callable[[Any], list[HomeItem]]
    rows: Callable[[Any], list[tuple[str, str, str]]] | None = None


@dataclass(frozen=True)
class BoundHomePanel:
    title: str
    items: list[HomeItem]
    rows: list[tuple[str, str, str]]


def register_home_panel(name: str, panel: HomePanel, *, after: Sequence[str] = ()) -> None:
    registry.home_panels.register(name, panel, after=after)


def home_panels_for(user, role: str) -> list[BoundHomePanel]:
    return [
        BoundHomePanel(str(p.title), p.items(user), p.rows(user) if p.rows else [])
        for p in registry.home_panels
        if role in p.roles
    ]
