"""Sterilization packages: the list with the batch scan and the center's registration, and a
package's trace (each step, where, by whom, in which cycle, on which patient)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView

from alliance.forms import add_service_errors
from alliance.models import Institution
from alliance.selectors import patients_for
from core.errors import DomainError
from core.filters import FilteredListMixin

from .. import forms, selectors, services
from ..choices import PackageAction, PackageStatus
from ..filters import PackageFilter
from ..models import InstrumentSet, Package
from ..selectors import alliance_members_of, sterilization_centers
from ..workflow import PACKAGE_MOVES, PACKAGES, package_scan_sides
from .base import PackagesAccessMixin


def package_moves_for(user) -> list[str]:
    """The steps the user's side scans: the center's, or a member's (the superuser: both), from
    the package machine's table."""
    if not user.has_perm("sharedcenters.change_package"):
        return []
    return PACKAGES.actions_of(package_scan_sides(user), among=PACKAGE_MOVES)


class PackageListView(FilteredListMixin, PackagesAccessMixin, ListView):
    """Packages per state; a batch scan moves many at once; the center registers new ones. The
    filters are the API's (PackageFilter)."""

    template_name = "sharedcenters/package_list.html"
    paginate_by = 50
    filterset_class = PackageFilter
    filter_inputs = ("q", "instrument_set", "owner", "expiring")

    def get_queryset(self):  # restricted by the base
        return Package.objects.select_related(
            "instrument_set", "owner", "location", "cycle"
        ).order_by("-updated_at", "-pk")

    def get_filter_choices(self, visible):
        return {
            "instrument_set": InstrumentSet.objects.filter(
                pk__in=visible.values("instrument_set_id")
            ),
            "owner": Institution.objects.filter(pk__in=visible.values("owner_id")),
        }

    def _forms(self, data=None, op: str = "") -> dict:
        user = self.request.user
        moves = package_moves_for(user)
        result = {"move_form": None, "register_form": None}
        if moves:
            result["move_form"] = forms.PackageMoveForm(
                data if op == "move" else None,
                actions=moves,
                cycles=selectors.running_cycles(user),
                patients=patients_for(user),
            )
        if user.has_perm("sharedcenters.change_sterilizationcycle"):
            centers = sterilization_centers(user)
            result["register_form"] = forms.PackageRegisterForm(
                data if op == "register" else None,
                sets=InstrumentSet.objects.filter(center__in=centers).select_related("center"),
                owners=alliance_members_of(centers),
            )
        return result

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        labels = dict(PackageStatus.choices)
        statuses = self.filter_values.get("status", [])
        counts = self.counts_by("status")
        context.update(
            filter_form=self.filterset.form,
            tabs=[(s, labels[s], counts.get(s, 0)) for s in PackageStatus.values],
            total=sum(counts.values()),
            status=statuses[0] if len(statuses) == 1 else "",
            today=timezone.localdate(),
        )
        for name, form in self._forms().items():
            context.setdefault(name, form)
        return context

    def post(self, request, *args, **kwargs) -> HttpResponse:
        op = request.POST.get("op", "")
        bound = self._forms(request.POST, op)
        form = bound.get(f"{op}_form")
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                message = self._move(form) if op == "move" else self._register(form)
            except ValidationError as exc:
                add_service_errors(form, _patient_field(exc))
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, message)
                return redirect(request.get_full_path())
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(**{f"{op}_form": form}))

    def _move(self, form) -> str:
        data = form.cleaned_data
        moved = services.packages_move(
            actor=self.request.user,
            barcodes=data["barcodes"],
            action=data["action"],
            cycle=data["cycle"],
            patient=form.patient,
            procedure=data["procedure"],
            note=data["note"],
        )
        return _("%(count)d packages: %(step)s.") % {
            "count": len(moved),
            "step": PackageAction(data["action"]).label,
        }

    def _register(self, form) -> str:
        data = form.cleaned_data
        package = services.package_register(
            actor=self.request.user,
            instrument_set=data["instrument_set"],
            owner=data["owner"],
            barcode=data["barcode"],
        )
        return _("Package %(barcode)s registered.") % {"barcode": package.barcode}


def _patient_field(exc: ValidationError) -> ValidationError:
    """The service names the patient `patient`; the form asks for the identity number."""
    if hasattr(exc, "error_dict") and "patient" in exc.error_dict:
        exc.error_dict["patient_id_number"] = exc.error_dict.pop("patient")
    return exc


class PackageDetailView(PackagesAccessMixin, DetailView):
    """One package's trace: every step, where, by whom, in which cycle, on which patient."""

    template_name = "sharedcenters/package_detail.html"
    context_object_name = "package"

    def get_object(self, queryset=None):
        return selectors.package_for_user(self.request.user, self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        events = list(
            self.object.events.select_related("location", "actor", "cycle", "patient").order_by(
                "at", "pk"
            )
        )
        context.update(
            events=events,
            visible_patients=selectors.visible_patient_ids(
                self.request.user,
                {e.patient_id for e in events} | {self.object.used_for_patient_id},
            ),
        )
        return context
