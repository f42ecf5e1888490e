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
