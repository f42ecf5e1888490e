"""Every write of the alliance app: one keyword-only function per action, in one transaction."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import audit
from core.access import profile_of
from core.choices import AccessKind
from core.errors import ActionNotAllowed

from .errors import IdentityNumberRegistered
from .models import ApiToken, Department, Notification, Patient
from .selectors import may_edit_contact_cards, signing_institutions
from .validators import normalize_id_number

PATIENT_FIELDS = (
    "name",
    "id_type",
    "gender",
    "birth_date",
    "id_number",
    "phone",
    "address",
    "home_institution",
    "signed",
    "signing_institution",
    "signed_on",
)


DEPARTMENT_FIELDS = (
    "name",
    "specialty",
    "phone",
    "on_duty_phone",
    "accepts_referrals",
    "head",
    "is_active",
)


def _check_may_edit_contact_cards(actor, institution) -> None:

    if not may_edit_contact_cards(actor, institution):
        raise ActionNotAllowed(
            _(
                "Only the institution's administrator or the alliance office may change its "
                "departments and contact cards."
            )
        )


@transaction.atomic
def department_create(*, actor, institution, **data: Any) -> Department:
    """A new department and contact card; the change history records who added it."""
    unknown = set(data) - set(DEPARTMENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown department fields: {sorted(unknown)}")
    _check_may_edit_contact_cards(actor, institution)
    department = Department(institution=institution, **data)
    department.full_clean()
    department.save()
    return department


@transaction.atomic
def department_update(*, actor, department: Department, **data: Any) -> Department:
    """Change a contact card (a department is retired with is_active, never deleted: referrals
    and staff point to it)."""
    unknown = set(data) - set(DEPARTMENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown department fields: {sorted(unknown)}")
    department = Department.objects.select_for_update().get(pk=department.pk)
    _check_may_edit_contact_cards(actor, department.institution)
    for name, value in data.items():
        setattr(department, name, value)
    department.full_clean()
    department.save()
    return department


def api_tokens_purge_expired() -> int:
    """Remove the API tokens past their expiry (a token is refused from then on anyway)."""
    deleted, _by_model = ApiToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted


def _check_identity_number_free(id_number: str, exclude_pk: int | None = None) -> None:
    # Refuse without saying where the resident is registered: that would disclose a record
    # of another institution.
    if Patient.objects.exclude(pk=exclude_pk).with_id_number(id_number).exists():
        raise IdentityNumberRegistered()


def _check_may_register(actor, home_institution) -> None:
    profile = profile_of(actor)
    if not actor.has_perm("alliance.add_patient") or (profile is None and not actor.is_superuser):
        raise ActionNotAllowed(_("Your role may not register or change patient records."))
    if actor.is_superuser:
        return
    scope = profile.patient_scope()
    if not scope.filter(pk=home_institution.pk).exists():
        raise ValidationError(
            {"home_institution": _("You may only register residents of your own institutions.")}
        )


def _check_may_sign(actor, signing_institution) -> None:

    if signing_institution is None:
        return
    if not signing_institutions(actor).filter(pk=signing_institution.pk).exists():
        raise ValidationError({"signing_institution": SIGNING_REFUSED})


SIGNING_REFUSED = _lazy("Choose a primary-care institution of your own to sign the resident.")


@transaction.atomic
def patient_create(*, actor, channel: str = "api", **data: Any) -> Patient:
    unknown = set(data) - set(PATIENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown patient fields: {sorted(unknown)}")
    if data.get("id_number"):
        data["id_number"] = normalize_id_number(data["id_number"])
    patient = Patient(**data)
    if patient.home_institution_id:
        _check_may_register(actor, patient.home_institution)
    _check_may_sign(actor, patient.signing_institution)
    if patient.id_number:
        _check_identity_number_free(patient.id_number)
    patient.full_clean(validate_unique=False)
    patient.save()
    audit.record(AccessKind.PATIENT_CREATE, user=actor, patient=patient, channel=channel)
    return patient


@transaction.atomic
def patient_update(*, actor, patient: Patient, channel: str = "api", **data: Any) -> Patient:
    unknown = set(data) - set(PATIENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown patient fields: {sorted(unknown)}")
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    _check_may_register(actor, patient.home_institution)
    if data.get("id_number"):
        data["id_number"] = normalize_id_number(data["id_number"])
    changed = [name for name, value in data.items() if getattr(patient, name) != value]
    for name, value in data.items():
        setattr(patient, name, value)
    if "home_institution" in changed:
        _check_may_register(actor, patient.home_institution)
    if "signing_institution" in changed:  # a signature already there is kept, not made anew
        _check_may_sign(actor, patient.signing_institution)
    if "id_number" in changed:
        _check_identity_number_free(patient.id_number, exclude_pk=patient.pk)
    patient.full_clean(validate_unique=False)
    patient.save()
    audit.record(
        AccessKind.PATIENT_UPDATE, user=actor, patient=patient, channel=channel, fields=changed
    )
    return patient


def patient_viewed(*, actor, patient: Patient, channel: str = "api") -> None:
    """The record was shown: one access-log row for the request (core.audit.shown)."""
    audit.shown(patient, kind=AccessKind.PATIENT_VIEW, user=actor, channel=channel)


def patient_id_number_revealed(*, actor, patient: Patient, channel: str = "api") -> str:
    """The full identity number, for the one explicit "show" action; the access is recorded.

    The caller has already checked that the actor may see the record. The number goes back to
    the caller only: never into the log row, a log line or a URL.
    """
    # The request's one access-log row says so (core.audit.shown), whatever else it shows.
    audit.shown(patient, kind=AccessKind.PATIENT_REVEAL_ID, user=actor, channel=channel)
    return patient.id_number


def notify(
    *, recipients, key: str, title: str, body: str = "", url: str = "", urgent: bool = False
) -> list:
    """Put a message in each recipient's inbox once per key, and email the new ones.

    Idempotent: a retried task finds the rows of its first run and sends nothing twice.
    """
    created = []
    for user in recipients:
        notification, is_new = Notification.objects.get_or_create(
            recipient=user,
            key=key,
            defaults={"title": title, "body": body, "url": url, "urgent": urgent},
        )
        if is_new:
            created.append(notification)
    for notification in created:
        address = notification.recipient.email
        if not address:
            continue
        send_mail(
            subject=title,
            message=f"{body}\n\n{settings.SITE_URL.rstrip('/')}{url}" if url else body,
            from_email=None,
            recipient_list=[address],
        )
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
    return created


def notification_mark_read(*, user, notification_ids: list[int] | None = None) -> int:
    """Mark the user's unread messages among `notification_ids` read (all of them if None): the
    inbox marks the messages a page shows. Another user's ids change nothing. One UPDATE."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        if not notification_ids:
            return 0
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def notification_mark_all_read(*, user) -> int:
    """ "Mark all as read": every unread message of the user, however many; how many it was."""
    return notification_mark_read(user=user)


# --- two-factor sign-in (core/twofactor.py; pages in views/account.py) --------------------


def two_factor_pending_device(*, actor) -> TOTPDevice:
    """The unconfirmed device of an enrolment in progress: the same key on every reload."""
    device = TOTPDevice.objects.devices_for_user(actor, confirmed=False).first()
    return device or TOTPDevice.objects.create(
        user=actor, name=_("Authenticator app"), confirmed=False
    )


@transaction.atomic
def two_factor_confirm(*, actor, device: TOTPDevice, request=None) -> None:
    """The first right code confirms the device; other unconfirmed ones go; logged."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=actor, confirmed=False).delete()
    audit.record(AccessKind.TWO_FACTOR_ON, request=request, user=actor)


@transaction.atomic
def two_factor_disable(*, actor, request=None) -> None:
    """Remove the account's devices (the caller checked the role may go without); logged."""
    TOTPDevice.objects.filter(user=actor).delete()
    audit.record(AccessKind.TWO_FACTOR_OFF, request=request, user=actor)
