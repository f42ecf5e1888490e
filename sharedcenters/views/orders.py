"""Order pages: the list, a new order, the detail with its action forms, the printable report,
the action POSTs and the center's worklist with its scan-to-receive box."""

from __future__ import annotations

import datetime

import rules
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.forms import BaseFormSet
from django.forms import Form as DjangoForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, ListView

from alliance import documents
from alliance.forms import add_service_errors
from alliance.selectors import patient_choices
from alliance.views import PatientSearchMixin
from core import audit
from core.access import RestrictedMixin
from core.errors import DomainError
from core.filters import FilteredListMixin
from referrals.models import Referral

from .. import forms, selectors, services
from ..choices import (
    OPEN_ORDER_STATUSES,
    CenterKind,
    OrderAction,
    OrderStatus,
)
from ..filters import ExamOrderFilter
from ..models import ExamOrder, ExamOrderItem, ImagingSlot, ServiceItem, SharedCenter
from .base import OrdersAccessMixin, safe_next, staff_center_ids

ITEMS = Prefetch("items", queryset=ExamOrderItem.objects.select_related("item"))
# Worklist tabs in the order the work flows.
WORKLIST_STATES = [
    OrderStatus.ORDERED,
    OrderStatus.COLLECTED,
    OrderStatus.SCHEDULED,
    OrderStatus.RECEIVED,
    OrderStatus.IN_PROGRESS,
    OrderStatus.REJECTED,
]
SLOT_HORIZON = datetime.timedelta(days=30)


def day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class OrderListView(FilteredListMixin, OrdersAccessMixin, ListView):
    """Orders the user sees: filter, search by number or patient, newest first. The filters
    are the API's (ExamOrderFilter)."""

    template_name = "sharedcenters/order_list.html"
    paginate_by = 25
    filterset_class = ExamOrderFilter
    filter_inputs = (
        "q",
        "status",
        "center",
        "priority",
        "critical",
        "ordered_from",
        "ordered_until",
    )
    paginator_class = selectors.CappedPaginator  # no COUNT(*) of every visible order

    def get_queryset(self):
        self.orders = selectors.orders_for(self.request.user)
        return self.orders.prefetch_related(ITEMS).order_by("-ordered_at", "-pk")

    def get_filter_choices(self, queryset):
        return {"center": selectors.diagnostic_centers(self.request.user)}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        critical = selectors.unacknowledged_critical(self.request.user, self.orders)
        critical = critical.order_by("reported_at")
        unacknowledged = list(critical[:20])
        audit.shown(unacknowledged)  # the box above the list names patients too
        context.update(
            filter_form=self.filterset.form,
            now=timezone.now(),
            unacknowledged=unacknowledged,
            may_order=self.request.user.has_perm("sharedcenters.add_examorder"),
        )
        return context


class OrderCreateView(PatientSearchMixin, RestrictedMixin, PermissionRequiredMixin, FormView):
    """New order: the center first (its catalog then shows), the patient, the items."""

    permission_required = "sharedcenters.add_examorder"
    template_name = "sharedcenters/order_form.html"
    form_class = forms.OrderForm

    def _param(self, name: str) -> str:
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        value = source.get(name, "")
        return value if value.isdigit() else ""

    def _center(self) -> SharedCenter | None:
        center_id = self._param("center")
        if not center_id:
            return None
        return selectors.diagnostic_centers(self.request.user).filter(pk=center_id).first()

    def _patients(self):
        return patient_choices(
            self.request.user,
            find=self.find,
            picked=self._param("patient"),
            posted=self.request.method == "POST" and not self.searching,
        )

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        user = self.request.user
        self.center = self._center()
        patient_id = self._param("patient")
        kwargs.update(
            centers=selectors.diagnostic_centers(user),
            patients=self._patients(),
            items=(
                self.center.items.filter(is_active=True)
                if self.center
                else ServiceItem.objects.none()
            ),
            referrals=(
                selectors.referrals_to_cite(user, patient_id)
                if patient_id
                else Referral.objects.none()
            ),
        )
        return kwargs

    def get_initial(self):
        initial = super().get_initial()
        for name in ("center", "patient", "referral"):
            if self._param(name):  # from the address, or from a posted search
                initial[name] = self._param(name)
        return initial

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        patients = form.fields["patient"].queryset
        if not form.is_bound and "patient" not in form.initial and len(patients) == 1:
            form.initial["patient"] = patients[0].pk  # the one match of a search
        return form

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            center=self.center,
            centers=selectors.diagnostic_centers(self.request.user).select_related("institution"),
            find=self.find,
            patient_param=self._param("patient"),
            referral_param=self._param("referral"),
        )
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            order = services.order_create(
                actor=self.request.user,
                center=data["center"],
                patient=data["patient"],
                items=list(data["items"]),
                priority=data["priority"],
                clinical_info=data["clinical_info"],
                referral=data["referral"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Order %(number)s placed.") % {"number": order.number})
        return redirect("sharedcenters:order-detail", pk=order.pk)


# --- the detail and its actions --------------------------------------------------------------


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


# --- the center's worklist -------------------------------------------------------------------


class WorklistView(RestrictedMixin, PermissionRequiredMixin, ListView):
    """Open orders of the user's centers, urgent first; scan an order number to receive it."""

    template_name = "sharedcenters/worklist.html"
    paginate_by = 50

    def has_permission(self) -> bool:
        return rules.test_rule("sharedcenters.works_at_center", self.request.user)

    def _centers(self):
        centers = selectors.diagnostic_centers(self.request.user)
        ids = staff_center_ids(self.request.user)
        return centers if ids is None else centers.filter(pk__in=ids)

    def get_queryset(self):
        center_id = self.request.GET.get("center", "")
        self.centers = list(self._centers())
        self.center = next((c for c in self.centers if str(c.pk) == center_id), None)
        orders = selectors.center_worklist(
            self.request.user, self.center.pk if self.center else None
        )
        self.counts = dict(
            orders.order_by().values("status").annotate(n=Count("*")).values_list("status", "n")
        )
        self.status = self.request.GET.get("status", "")
        if self.status in OPEN_ORDER_STATUSES:
            orders = orders.filter(status=self.status)
        else:
            self.status = ""
        return orders.select_related("ordering_user").prefetch_related(ITEMS)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        labels = dict(OrderStatus.choices)
        context.update(
            centers=self.centers,
            center=self.center,
            status=self.status,
            tabs=[(s, labels[s], self.counts.get(s, 0)) for s in WORKLIST_STATES],
            total=sum(self.counts.values()),
            now=timezone.now(),
            here=self.request.get_full_path(),
        )
        return context

    def post(self, request, *args, **kwargs) -> HttpResponse:
        """Scan to receive: each scan is one POST and a redirect back, the box focused again."""
        back = request.get_full_path()
        if not request.user.has_perm("sharedcenters.change_examorder"):
            raise PermissionDenied
        number = request.POST.get("number", "").strip().upper()
        if not number:
            messages.error(request, _("Scan or type an order number."))
            return redirect(back)
        order = selectors.center_worklist(request.user).filter(number=number).first()
        if order is None:
            known = selectors.orders_for(request.user).filter(number=number).first()
            if known is None:
                messages.error(
                    request, _("%(number)s: no such order at your centers.") % {"number": number}
                )
            else:
                messages.error(
                    request,
                    _("%(number)s is %(status)s.")
                    % {"number": number, "status": known.get_status_display()},
                )
            return redirect(back)
        try:
            order = services.order_receive(actor=request.user, order=order)
        except DomainError as exc:
            messages.error(request, f"{number}: {exc.message}")
        else:
            messages.success(
                request,
                _("%(number)s received: %(patient)s, %(center)s.")
                % {
                    "number": order.number,
                    "patient": order.patient.name,
                    "center": order.center.name,
                },
            )
        return redirect(back)
