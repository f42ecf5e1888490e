"""Sterilization cycles: the list where the center starts one, and a cycle's indicators, its
recall button and the recall list of every package with its uses since (also as a PDF)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView

from alliance import documents
from alliance.forms import add_service_errors
from core.errors import DomainError
from core.filters import FilteredListMixin

from .. import forms, selectors, services
from ..choices import CycleStatus, PackageStatus
from ..filters import SterilizationCycleFilter
from ..models import SterilizationCycle
from ..selectors import sterilization_centers
from .base import PackagesAccessMixin, staff_center_ids


class CycleListView(FilteredListMixin, PackagesAccessMixin, ListView):
    """Sterilization cycles with their indicators; the center starts a new one here. The
    filters are the API's (SterilizationCycleFilter)."""

    template_name = "sharedcenters/cycle_list.html"
    paginate_by = 50
    filterset_class = SterilizationCycleFilter
    filter_inputs = ("status", "started_from")

    def get_queryset(self):  # restricted by the base
        return (
            SterilizationCycle.objects.select_related("center", "operator")
            .annotate(
                loaded=Count(
                    "package_events",
                    filter=Q(package_events__to_status=PackageStatus.STERILIZED),
                    distinct=True,
                )
            )
            .order_by("-started_at", "-pk")
        )

    def _start_form(self, data=None):
        if not self.request.user.has_perm("sharedcenters.change_sterilizationcycle"):
            return None
        return forms.CycleStartForm(data, centers=sterilization_centers(self.request.user))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter_form"] = self.filterset.form
        context.setdefault("start_form", self._start_form())
        return context

    def post(self, request, *args, **kwargs) -> HttpResponse:
        form = self._start_form(request.POST)
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                cycle = services.cycle_start(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Cycle %(cycle)s started.") % {"cycle": cycle})
                return redirect("sharedcenters:cycle-detail", pk=cycle.pk)
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(start_form=form))


class CycleDetailView(PackagesAccessMixin, DetailView):
    """A cycle's indicators, the recall button, and every package with its uses since."""

    template_name = "sharedcenters/cycle_detail.html"
    context_object_name = "cycle"

    def get_object(self, queryset=None):
        return selectors.cycle_for_user(self.request.user, self.kwargs["pk"])

    def _may_change(self, cycle: SterilizationCycle) -> bool:
        user = self.request.user
        if not user.has_perm("sharedcenters.change_sterilizationcycle"):
            return False
        ids = staff_center_ids(user)
        return ids is None or cycle.center_id in ids

    def _forms(self, cycle, data=None, op: str = "") -> dict:
        if not self._may_change(cycle):
            return {"results_form": None, "recall_form": None}
        initial = {
            "physical": cycle.physical_result,
            "chemical": cycle.chemical_result,
            "biological": cycle.biological_result,
        }
        running = cycle.status == CycleStatus.RUNNING
        return {
            "results_form": forms.CycleResultsForm(
                data if op == "results" else None, initial=initial
            )
            if running
            else None,
            "recall_form": forms.RecallForm(data if op == "recall" else None)
            if cycle.recalled_at is None
            else None,
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        lines = selectors.recall_report(self.object)
        # A member sees its own packages of the cycle; the center sees them all.
        visible = selectors.visible_package_ids(user, [line.package.pk for line in lines])
        lines = [line for line in lines if line.package.pk in visible]
        patients = {use.patient_id for line in lines for use in line.uses}
        context.update(
            lines=lines,
            used=sum(1 for line in lines if line.uses),
            visible_patients=selectors.visible_patient_ids(user, patients),
        )
        for name, form in self._forms(self.object).items():
            context.setdefault(name, form)
        return context

    def render_to_response(self, context, **response_kwargs):
        if not documents.wants_pdf(self.request):
            return super().render_to_response(context, **response_kwargs)
        cycle = self.object
        return documents.pdf_response(
            self.request,
            "documents/recall_list.html",
            context,
            issuer=cycle.center.institution,
            filename=f"cycle-{cycle.pk}-recall-list.pdf",
        )

    def post(self, request, *args, **kwargs) -> HttpResponse:
        self.object = cycle = self.get_object()
        op = request.POST.get("op", "")
        form = self._forms(cycle, request.POST, op).get(f"{op}_form")
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                if op == "results":
                    cycle = services.cycle_record_results(
                        actor=request.user, cycle=cycle, **form.cleaned_data
                    )
                    message = _("Indicators recorded: %(status)s.") % {
                        "status": cycle.get_status_display()
                    }
                else:
                    services.cycle_recall(
                        actor=request.user, cycle=cycle, reason=form.cleaned_data["reason"]
                    )
                    message = _("Cycle %(cycle)s recalled; its packages are blocked.") % {
                        "cycle": cycle
                    }
            except ValidationError as exc:
                add_service_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, message)
                return redirect("sharedcenters:cycle-detail", pk=cycle.pk)
        return self.render_to_response(self.get_context_data(**{f"{op}_form": form}))
