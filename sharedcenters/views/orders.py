"""Order pages: the list and a new order. An order's page and its actions are in order_detail,
the center's worklist in worklist."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import FormView, ListView

from alliance.forms import add_service_errors
from alliance.selectors import patient_choices
from alliance.views import PatientSearchMixin
from core import audit
from core.access import RestrictedMixin
from core.errors import DomainError
from core.filters import FilteredListMixin
from referrals.models import Referral

from .. import forms, selectors, services
from ..filters import ExamOrderFilter
from ..models import ExamOrderItem, ServiceItem, SharedCenter
from .base import OrdersAccessMixin

ITEMS = Prefetch("items", queryset=ExamOrderItem.objects.select_related("item"))


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
