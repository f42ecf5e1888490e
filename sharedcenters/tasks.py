"""Celery tasks of the shared centers: thin, idempotent wrappers (they take ids and re-read)."""

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from alliance import services as alliance_services
from alliance.models import Institution
from core.alerts import alert_backend
from core.events import deliver_once

from . import selectors
from .models import ExamOrder, OrderEvent, SterilizationCycle

RETRY = {"autoretry_for": (Exception,), "retry_backoff": True, "max_retries": 5}


def _order(order_id: int) -> ExamOrder:
    return ExamOrder.objects.select_related(
        "center", "patient", "ordering_institution", "ordering_department"
    ).get(pk=order_id)


def _url(order: ExamOrder) -> str:
    return reverse("sharedcenters:order-detail", args=[order.pk])


@shared_task(ignore_result=True, **RETRY)
def notify_orderer(order_id: int, event_id: int) -> None:
    """Report ready, or specimen rejected: the ordering department hears in-app and by email."""
    order = _order(order_id)
    event = OrderEvent.objects.get(pk=event_id)
    with translation.override(settings.LANGUAGE_CODE):
        # An amendment says so: "reported" again would read like the first report.
        what = event.get_action_display() if event.action == "amend" else None
        title = _("%(number)s: %(status)s") % {
            "number": order.number,
            "status": what or event.get_to_status_display(),
        }
        body = f"{order.center.name} · {order.get_rejection_reason_display() or order.impression}"
    alliance_services.notify(
        recipients=selectors.ordering_staff(order),
        key=f"order-event-{event_id}",
        title=title,
        body=body[:500],
        url=_url(order),
    )


def _critical_message(order: ExamOrder) -> str:
    return _("Critical value %(number)s from %(center)s: %(patient)s, %(value)s") % {
        "number": order.number,
        "center": order.center.name,
        "patient": f"{order.patient.get_gender_display()} {order.patient.birth_date:%Y}",
        "value": order.critical_note[:300],
    }


@shared_task(ignore_result=True, **RETRY)
def alert_critical_value(order_id: int, event_id: int) -> None:
    """危急值: the ordering department is told at once, in-app and on its on-duty phone."""
    order = _order(order_id)
    with translation.override(settings.LANGUAGE_CODE):
        message = _critical_message(order)
    alliance_services.notify(
        recipients=selectors.ordering_staff(order),
        key=f"order-event-{event_id}",
        title=message[:200],
        body=order.critical_note,
        url=_url(order),
        urgent=True,
    )
    phone = selectors.on_duty_phone(order)
    if not phone:
        return
    backend = alert_backend(settings.CRITICAL_VALUE_ALERT_BACKEND)
    # Once per event: a retry or a duplicate after a successful call does not call again.
    deliver_once(
        OrderEvent, event_id, lambda: backend(phone, message), mark="alert_sent", value=phone
    )


@shared_task(ignore_result=True, **RETRY)
def escalate_critical_value(order_id: int, event_id: int) -> None:
    order = _order(order_id)
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Unacknowledged critical value %(number)s at %(institution)s") % {
            "number": order.number,
            "institution": order.ordering_institution.name,
        }
    User = get_user_model()
    recipients = User.objects.filter(
        Q(pk__in=selectors.office_staff(order).values("pk"))
        | Q(pk__in=selectors.ordering_staff(order).values("pk"))
    )
    alliance_services.notify(
        recipients=recipients,
        key=f"order-event-{event_id}",
        title=title,
        body=order.critical_note,
        url=_url(order),
        urgent=True,
    )


@shared_task(ignore_result=True)
def escalate_critical_values() -> dict:
    """Every minute (settings.CELERY_BEAT_SCHEDULE)."""
    # The services queue this module's tasks as their effects, so they import it: the job is
    # imported when it runs, not with this module (which would import them back).
    from .services import escalate_critical_values as escalate

    return escalate()


@shared_task(ignore_result=True, **RETRY)
def notify_recall(cycle_id: int, event_id: int | None = None) -> None:
    """Each member holding a package of a recalled cycle, and the alliance office, hear of it."""
    cycle = SterilizationCycle.objects.select_related("center").get(pk=cycle_id)
    lines = selectors.recall_report(cycle)
    owners = {line.package.owner_id for line in lines}
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Recall: sterilization cycle %(cycle)s, %(count)d packages") % {
            "cycle": str(cycle),
            "count": len(lines),
        }
    members = Institution.objects.in_alliance(cycle.center.alliance_id)
    recipients = selectors.recall_recipients(owners, members)
    alliance_services.notify(
        recipients=recipients,
        key=f"cycle-recall-{cycle.pk}",
        title=title,
        body=cycle.recall_reason,
        url=reverse("sharedcenters:cycle-detail", args=[cycle.pk]),
        urgent=True,
    )
