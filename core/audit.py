"""The access log's one writer, and the receivers that feed it sign-in events.

Call `record()` where something worth auditing happens; the receivers below are connected in
CoreConfig.ready(). Rows are append-only (see AccessLog); what goes into `detail` must never
hold an identity number or a password.

The log's table belongs to the domain, because each row may name the data subject it showed (a
foreign key to a patient): as Django finds the user model through AUTH_USER_MODEL, this module
finds the log through `settings.AUDIT_LOG_MODEL` ("alliance.AccessLog") and the subjects through
`settings.AUDIT_SUBJECT_MODEL` ("alliance.Patient"), and imports no domain app. The log model
has the fields `record()` fills: kind, user, username, ip_address, method, path, patient,
detail, records and patient_ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from axes.helpers import get_client_ip_address
from django.apps import apps
from django.conf import settings
from django.db import models
from django.http import HttpRequest, HttpResponseBase

from .choices import AccessKind


def log_model() -> type[models.Model]:
    """The access log's model (settings.AUDIT_LOG_MODEL)."""
    return apps.get_model(settings.AUDIT_LOG_MODEL, require_ready=False)


def subject_model() -> type[models.Model]:
    """The model of the people the log names (settings.AUDIT_SUBJECT_MODEL)."""
    return apps.get_model(settings.AUDIT_SUBJECT_MODEL, require_ready=False)


# The request being served, so that a row written deep in a service (a patient viewed through
# the API, a record changed on a page) carries its address, method and path like a sign-in's.
current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


@dataclass
class Shown:
    """The patient data one response shows, gathered while it is built: one row at the end."""

    kind: str = ""
    explicit: bool = False  # a kind named by the caller beats one guessed from the shape
    user: Any = None
    records: dict[str, list[int]] = field(default_factory=dict)
    patients: list[int] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def add(self, label: str, pk: int, patient_id: int) -> None:
        ids = self.records.setdefault(label, [])
        if pk not in ids:
            ids.append(pk)
        if patient_id not in self.patients:
            self.patients.append(patient_id)


# One box a request (set by the middleware); None outside a request (a task, a shell): there
# `shown()` writes its row at once.
current_shown: ContextVar[list[Shown] | None] = ContextVar("audit_shown", default=None)


class AuditRequestMiddleware:
    """Makes the request known to `record()` for the time it is served, and writes the one
    access-log row naming the patient data its response showed (see `shown()`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = current_request.set(request)
        box: list[Shown] = []
        shown_token = current_shown.set(box)
        try:
            response = self.get_response(request)
            # Only what was shown: a 404, a refusal or a redirect showed nothing.
            if box and 200 <= response.status_code < 300:
                _write_shown(box[0], request)
            return response
        finally:
            current_shown.reset(shown_token)
            current_request.reset(token)


def patient_id_of(obj: Any) -> int | None:
    """The patient a record belongs to; None when it is no patient data. A model whose rows
    belong to a patient through another row says so with an `audit_patient_id` attribute."""
    if obj._meta.label_lower == settings.AUDIT_SUBJECT_MODEL.lower():
        return obj.pk
    if hasattr(type(obj), "audit_patient_id"):
        return obj.audit_patient_id
    return getattr(obj, "patient_id", None)


def shown(
    objects: Any, *, kind: str = "", user=None, patient_id: int | None = None, **detail: Any
) -> None:
    """Name records of patients that the response being built shows: one object (a detail, a
    download) or many (the page of a list). Everything shown while one request is served goes
    into ONE access-log row, written by the middleware when the response is a success; outside
    a request the row is written at once. Rows of no patient (an institution, a cycle) and an
    empty list are not recorded: a user who saw no patient leaves no row.

    `kind` names the access (a download, a print); without it a single record is "opened"
    (a patient's record "viewed") and several are a list. `patient_id` gives the patient of a
    record that does not carry one itself."""
    many = not hasattr(objects, "_meta")
    items = list(objects) if many else [objects]
    entry = Shown()
    for obj in items:
        owner = patient_id if patient_id is not None else patient_id_of(obj)
        if owner is not None:
            entry.add(obj._meta.label_lower, obj.pk, owner)
    if not entry.records:
        return
    named = bool(kind)
    if not kind:
        only = next(iter(entry.records))
        kind = (
            AccessKind.LIST_VIEW
            if many
            else AccessKind.PATIENT_VIEW
            if only == settings.AUDIT_SUBJECT_MODEL.lower()
            else AccessKind.RECORD_VIEW
        )
    box = current_shown.get()
    if box is None:
        entry.kind, entry.user, entry.detail = kind, user, detail
        _write_shown(entry, None)
        return
    if not box:
        box.append(Shown(kind=kind, explicit=named))
    pending = box[0]
    if named and not pending.explicit:
        pending.kind, pending.explicit = kind, True
    if user is not None:
        pending.user = user
    pending.detail.update(detail)
    for label, ids in entry.records.items():
        merged = pending.records.setdefault(label, [])
        merged.extend(pk for pk in ids if pk not in merged)
    pending.patients.extend(pk for pk in entry.patients if pk not in pending.patients)


def shown_patients(patient_ids: Iterable[int], **kwargs: Any) -> None:
    """`shown()` for patients a page names by id alone (a package's trace, a recall list)."""
    subject = subject_model()
    shown([subject(pk=pk) for pk in sorted(set(patient_ids))], **kwargs)


def annotate(*, kind: str = "", **detail: Any) -> None:
    """Add to the row of what this response shows, if it shows any patient: a PDF print says
    so (alliance.documents, for one), without making a row of its own."""
    box = current_shown.get()
    if not box:
        return
    if kind:
        box[0].kind, box[0].explicit = kind, True
    box[0].detail.update(detail)


def _write_shown(entry: Shown, request: HttpRequest | None) -> models.Model:
    request = request or current_request.get()
    detail = dict(entry.detail)
    if request is not None and "channel" not in detail:
        detail["channel"] = "api" if request.path.startswith("/api/") else "web"
    patient = entry.patients[0] if len(entry.patients) == 1 else None
    return record(
        entry.kind,
        request=request,
        user=entry.user,
        patient_id=patient,
        records=entry.records,
        patient_ids=entry.patients,
        **detail,
    )


def record(
    kind: str,
    *,
    request: HttpRequest | None = None,
    user=None,
    username: str = "",
    patient=None,
    patient_id: int | None = None,
    records: dict | None = None,
    patient_ids: Iterable[int] = (),
    **detail: Any,
) -> models.Model:
    """Write one access-log row; the user, address and path come from the request if given, else
    from the request being served (none for a Celery task)."""
    if request is None:
        request = current_request.get()
    if user is None and request is not None:
        candidate = getattr(request, "user", None)
        if candidate is not None and candidate.is_authenticated:
            user = candidate
    if user is not None and not username:
        username = user.get_username()
    entry = log_model()(
        kind=kind,
        user=user,
        username=username[:150],
        patient=patient,
        detail=detail,
        records=records or {},
        patient_ids=list(patient_ids),
    )
    if patient_id is not None:
        entry.patient_id = patient_id
    if entry.patient_id is not None and not entry.patient_ids:
        entry.patient_ids = [entry.patient_id]
    if request is not None:
        entry.ip_address = get_client_ip_address(request) or None
        entry.method = request.method or ""
        entry.path = request.path[:255]
    entry.save()
    return entry


# --- receivers (connected in CoreConfig.ready) -------------------------------------------


def on_login(sender, request, user, **kwargs) -> None:
    record(AccessKind.LOGIN, request=request, user=user)


def on_login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    # Django has already replaced the password in `credentials`; only the name is kept.
    entry = record(
        AccessKind.LOGIN_FAILED, request=request, username=str(credentials.get("username", ""))
    )
    if entry.ip_address:
        from .backends import recent_failures_from  # late: backends imports this module

        failures = recent_failures_from(entry.ip_address)
        if failures == settings.LOGIN_ADDRESS_FAILURE_LIMIT:  # once, when the limit is reached
            record(
                AccessKind.LOCKOUT,
                request=request,
                scope="address",
                failures=failures,
                minutes=settings.LOGIN_ADDRESS_WINDOW_MINUTES,
            )


def on_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(AccessKind.LOGOUT, request=request, user=user)


def on_lockout(sender, request, username: str | None, ip_address: str | None, **kwargs) -> None:
    record(AccessKind.LOCKOUT, request=request, username=username or "")


def on_attempt_deleted(sender, instance, **kwargs) -> None:
    """An axes attempt record that had reached the limit goes away: the account is unlocked,
    by the cool-off running out, an administrator in the admin or `axes_reset*` commands."""
    if instance.failures_since_start >= settings.AXES_FAILURE_LIMIT:
        entry = log_model()(
            kind=AccessKind.UNLOCK,
            username=(instance.username or "")[:150],
            ip_address=instance.ip_address or None,
            detail={"failures": instance.failures_since_start},
        )
        entry.save()
