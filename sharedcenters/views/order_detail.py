"""An order's page with its action forms, the printable report, and the action POSTs, each
through its service."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import BaseFormSet
from django.forms import Form as DjangoForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from alliance import documents
from alliance.forms import add_service_errors
from core.access import RestrictedMixin
from core.errors import DomainError

from .. import forms, selectors, services
from ..choices import CenterKind, OrderAction
from ..models import ExamOrder, ImagingSlot
from .base import OrdersAccessMixin, safe_next

SLOT_HORIZON = datetime.timedelta(days=30)


def available_slots(user, order: ExamOrder) -> QuerySet[ImagingSlot]:
    """Future slots of the order's center and modality with a place this patient may take."""
    soon = selectors.bookable_slots(user, order).filter(
        starts_at__lte=timezone.now() + SLOT_HORIZON
    )
    return selectors.with_places(soon, priority_channel=order.priority_channel).order_by(
        "starts_at"
    )


def action_form(
    action: str, user, order: ExamOrder, data=None, rows: int = 6
) -> DjangoForm | tuple[DjangoForm, BaseFormSet]:
    """The form of one action, bound to `data` when given; (form, formset) for a lab report."""
    prefix = {"prefix": action}
    if action == OrderAction.SCHEDULE:
        return forms.ScheduleForm(
            data,
            slots=available_slots(user, order),
            priority_channel=order.priority_channel,
            **prefix,
        )
    if action == OrderAction.REJECT:
        return forms.RejectForm(data, **prefix)
    if action == OrderAction.CANCEL:
        return forms.CancelForm(data, **prefix)
    if action == OrderAction.REPORT:
        if order.center.kind == CenterKind.LAB:
            return forms.LabReportForm(data, **prefix), forms.result_formset(data=data, rows=rows)
        return forms.ReportForm(data, **prefix)
    if action == OrderAction.AMEND:  # starts from the report it corrects
        initial = {
            "findings": order.findings,
            "impression": order.impression,
            "critical": order.critical,
            "critical_note": order.critical_note,
        }
        if order.center.kind == CenterKind.LAB:
            results = list(
                order.results.values("analyte", "value", "unit", "reference_range", "flag")
            )
            return (
                forms.LabAmendForm(data, initial=initial, **prefix),
                forms.result_formset(data=data, rows=rows, initial=results),
            )
        return forms.AmendForm(data, initial=initial, **prefix)
    return forms.NoteForm(data, **prefix)


def _split(built) -> tuple[DjangoForm, BaseFormSet | None]:
    return built if isinstance(built, tuple) else (built, None)


def detail_context(request: HttpRequest, order: ExamOrder, bound: dict | None = None) -> dict:
    user = request.user
    actions = services.allowed_actions(user, order)
    rows = request.GET.get("rows", "")
    rows = min(int(rows), 60) if rows.isdigit() else 6
    action_forms, formset = {}, None
    for action in actions:
        if bound and action in bound:
            form, action_formset = bound[action]
        else:
            form, action_formset = _split(action_form(action, user, order, rows=rows))
        action_forms[action] = form
        formset = action_formset or formset
    now = timezone.now()
    return {
        "order": order,
        "actions": actions,
        "forms": action_forms,
        "results_formset": formset,
        "items": order.items.select_related("item"),
        "results": order.results.all(),
        "events": order.events.select_related("actor").order_by("at", "pk"),
        "now": now,
        "is_lab": order.center.kind == CenterKind.LAB,
        "report_ready": order.reported_at is not None,
        "versions": report_versions(order),
    }


def report_versions(order: ExamOrder) -> list:
    """Earlier versions of an amended report, newest first (the page shows what changed last)."""
    return list(
        order.report_versions.select_related("reported_by", "superseded_by").order_by("-version")
    )


class OrderDetailView(OrdersAccessMixin, View):
    template_name = "sharedcenters/order_detail.html"

    def get(self, request, pk: int):
        order = selectors.order_for_user(request.user, pk)
        return render(request, self.template_name, detail_context(request, order))


class OrderReportView(OrdersAccessMixin, View):
    """The printable report (检查检验报告单), in one layout for every center."""

    def get(self, request, pk: int):
        order = selectors.order_for_user(request.user, pk)
        if order.reported_at is None:
            messages.info(
                request, _("The report of %(number)s is not ready yet.") % {"number": order.number}
            )
            return redirect("sharedcenters:order-detail", pk=order.pk)
        context = {
            "order": order,
            "alliance": order.center.alliance,
            "items": order.items.select_related("item"),
            "results": order.results.all(),
            "versions": report_versions(order),
        }
        if documents.wants_pdf(request):
            return documents.pdf_response(
                request,
                "documents/order_report.html",
                context,
                issuer=order.center.institution,
                filename=f"report-{order.number}.pdf",
            )
        return render(request, "sharedcenters/order_report.html", context)

    def post(self, request, pk: int) -> HttpResponse:
        # `orders/<pk>/report/` is both the printable report and the "report" action's URL
        # (reverse("sharedcenters:order-action", args=[pk, "report"]) gives the same path):
        # the GET prints, the POST issues the report.
        return OrderActionView.as_view()(request, pk=pk, action=OrderAction.REPORT)


def _report_kwargs(form, formset) -> dict:
    data = dict(form.cleaned_data)
    if formset is not None:
        data["results"] = [row.cleaned_data for row in formset.forms if row.cleaned_data]
    return data


SERVICES = {
    OrderAction.COLLECT: services.order_collect,
    OrderAction.SCHEDULE: services.order_schedule,
    OrderAction.RECEIVE: services.order_receive,
    OrderAction.REJECT: services.order_reject,
    OrderAction.START: services.order_start,
    OrderAction.REPORT: services.order_report,
    OrderAction.AMEND: services.order_amend,
    OrderAction.ACKNOWLEDGE: services.order_acknowledge,
    OrderAction.CANCEL: services.order_cancel,
}


class OrderActionView(RestrictedMixin, PermissionRequiredMixin, View):
    """POST /centers/orders/<pk>/<action>/: one action through its service. An incomplete form
    re-shows the detail with the errors and what was typed; a refused action is a message."""

    permission_required = "sharedcenters.change_examorder"

    def post(self, request, pk: int, action: str) -> HttpResponse:
        order = selectors.order_for_user(request.user, pk)
        if action not in SERVICES:
            raise Http404
        detail = reverse("sharedcenters:order-detail", args=[order.pk])
        form, formset = _split(action_form(action, request.user, order, data=request.POST))
        if form.is_valid() and (formset is None or formset.is_valid()):
            try:
                SERVICES[action](actor=request.user, order=order, **_report_kwargs(form, formset))
            except ValidationError as exc:
                add_service_errors(form, exc)
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect(safe_next(request, detail))
            else:
                messages.success(
                    request,
                    _("%(number)s: %(action)s.")
                    % {
                        "number": order.number,
                        "action": OrderAction(action).label,
                    },
                )
                return redirect(safe_next(request, detail))
        if action not in services.allowed_actions(request.user, order):
            messages.error(request, _("This action is not open to you on this order now."))
            return redirect(detail)
        context = detail_context(request, order, bound={action: (form, formset)})
        context["failed_action"] = action
        return render(request, OrderDetailView.template_name, context)
