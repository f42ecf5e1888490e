"""Celery tasks of the referrals app: thin, idempotent wrappers (they take ids and re-read)."""

from celery import shared_task
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from alliance import services as alliance_services
from core.alerts import alert_backend
from core.events import deliver_once

from . import selectors
from .models import Referral, ReferralEvent


def _url(referral: Referral) -> str:
    return reverse("referrals:detail", args=[referral.pk])


@shared_task(ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def notify_referral_submitted(referral_id: int, event_id: int) -> None:
    """Tell the receiving department (or the institution's referral desk) in-app and by email."""
    referral = Referral.objects.select_related("patient", "to_institution").get(pk=referral_id)
    with translation.override(settings.LANGUAGE_CODE):
        title = _("New %(urgency)s referral %(number)s") % {
            "urgency": referral.get_urgency_display(),
            "number": referral.number,
        }
        body = f"{referral.diagnosis_text} · {referral.get_service_display()}"
    alliance_services.notify(
        recipients=selectors.receiving_staff(referral),
        key=f"referral-event-{event_id}",
        title=title,
        body=body,
        url=_url(referral),
        urgent=referral.urgency == "emergency",
    )


@shared_task(ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def notify_referral_sender(referral_id: int, event_id: int, title: str, body: str) -> None:
    referral = Referral.objects.get(pk=referral_id)
    alliance_services.notify(
        recipients=selectors.sending_staff(referral),
        key=f"referral-event-{event_id}",
        title=f"{referral.number} · {title}",
        body=body,
        url=_url(referral),
    )


@shared_task(ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def notify_referral_overdue(referral_id: int, event_id: int) -> None:
    referral = Referral.objects.select_related("to_institution").get(pk=referral_id)
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Overdue: %(number)s has no answer from %(institution)s") % {
            "number": referral.number,
            "institution": referral.to_institution.name,
        }
    alliance_services.notify(
        recipients=selectors.office_staff(referral),
        key=f"referral-event-{event_id}",
        title=title,
        url=_url(referral),
        urgent=True,
    )


@shared_task(ignore_result=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_pre_arrival_alert(referral_id: int, event_id: int) -> None:
    """The chest-pain story: the on-duty team hears of an emergency before the patient arrives.
    Once per event: a retry or a duplicate after a successful call does not call again."""
    referral = Referral.objects.select_related("patient", "to_department", "from_institution").get(
        pk=referral_id
    )
    phone = selectors.on_duty_phone(referral)
    if not phone:
        return
    with translation.override(settings.LANGUAGE_CODE):
        message = _(
            "Emergency referral %(number)s from %(source)s: %(patient)s, %(diagnosis)s. %(summary)s"
        ) % {
            "number": referral.number,
            "source": referral.from_institution.name,
            "patient": f"{referral.patient.get_gender_display()} {referral.patient.birth_date:%Y}",
            "diagnosis": referral.diagnosis_text,
            "summary": referral.clinical_summary[:300],
        }
    backend = alert_backend(settings.REFERRAL_ALERT_BACKEND)
    deliver_once(
        ReferralEvent, event_id, lambda: backend(phone, message), mark="alert_sent", value=phone
    )


@shared_task(ignore_result=True)
def escalate_overdue_referrals() -> dict:
    """Every minute (settings.CELERY_BEAT_SCHEDULE)."""
    # The services queue this module's tasks as their effects, so they import it: the job is
    # imported when it runs, not with this module (which would import them back).
    from .services import escalate_overdue

    return escalate_overdue()
