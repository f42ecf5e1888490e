"""Sterilization supply pages: packages with the batch scan, a package's trace, the cycles and
a cycle's indicators and recall list, and the members' supply requests (申领) with the center's
scan box that dispatches packages against them."""

from __future__ import annotations

import rules
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, F, Q, Value, When
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, ListView

from alliance import documents
from alliance.forms import add_service_errors
from alliance.models import Institution
from alliance.selectors import patients_for
from core.access import RestrictedMixin, row_for_user
from core.errors import DomainError
from core.filters import FilteredListMixin

from .. import forms, selectors, services
from ..choices import (
    CenterKind,
    CycleStatus,
    PackageAction,
    PackageStatus,
    SupplyRequestStatus,
)
from ..filters import PackageFilter, SterilizationCycleFilter, SupplyRequestFilter
from ..models import (
    InstrumentSet,
    Package,
    PackageEvent,
    SharedCenter,
    SterilizationCycle,
    SupplyRequest,
)
from ..selectors import alliance_members_of, request_centers, sterilization_centers
from ..workflow import (
    CANCEL,
    CENTER,
    PACKAGE_MOVES,
    PACKAGES,
    SUPPLY_REQUESTS,
    package_scan_sides,
)
from .base import PackagesAccessMixin, staff_center_ids


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


# --- supply requests (申领) ---------------------------------------------------------------------


class SupplyRequestsAccessMixin(RestrictedMixin, PermissionRequiredMixin):
    permission_required = "sharedcenters.view_supplyrequest"


def mark_on_shelf(requests: list[SupplyRequest]) -> None:
    """Set `on_shelf` on each open line: the requester's stored, unexpired packages of the set,
    what the center can pick for it now. One query for the whole page."""
    lines = [line for r in requests if r.is_open for line in r.lines.all()]
    if not lines:
        return
    owners = {r.requesting_institution_id for r in requests if r.is_open}
    rows = (
        Package.objects.filter(
            status=PackageStatus.STORED,
            expires_on__gte=timezone.localdate(),
            owner_id__in=owners,
            instrument_set_id__in={line.instrument_set_id for line in lines},
        )
        .order_by()
        .values("owner_id", "instrument_set_id")
        .annotate(n=Count("pk"))
    )
    stock = {(row["owner_id"], row["instrument_set_id"]): row["n"] for row in rows}
    for r in requests:
        if r.is_open:
            for line in r.lines.all():
                line.on_shelf = stock.get((r.requesting_institution_id, line.instrument_set_id), 0)


def serves_requests(user) -> bool:
    """Staff of a sterilization center (and the superuser): they pick and dispatch."""
    ids = staff_center_ids(user)
    if ids is None:
        return True
    return bool(ids) and (
        SharedCenter.objects.filter(pk__in=ids, kind=CenterKind.STERILIZATION).exists()
    )


class SupplyRequestListView(FilteredListMixin, SupplyRequestsAccessMixin, ListView):
    """Members see their institution's requests; the center sees the open ones first, each line
    with what is still to send and what of the requester's is on the shelf; the office reads.
    The filters are the API's (SupplyRequestFilter); the tabs set `status`."""

    template_name = "sharedcenters/supply_request_list.html"
    paginate_by = 25
    filterset_class = SupplyRequestFilter

    def get_queryset(self):  # restricted by the base
        self.serves = serves_requests(self.request.user)
        requests = selectors.for_display(SupplyRequest.objects.all())
        if not self.serves:
            return requests.order_by("-created_at", "-pk")
        # The pick list: open requests first, the soonest needed and then the oldest on top.
        is_open = Q(status=SupplyRequestStatus.SUBMITTED)
        return requests.order_by(
            Case(When(is_open, then=Value(0)), default=Value(1)),
            Case(When(is_open, then=F("needed_by"))).asc(nulls_last=True),
            Case(When(is_open, then=F("created_at"))).asc(nulls_last=True),
            "-created_at",
            "-pk",
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.serves:
            mark_on_shelf(context["object_list"])
        labels = dict(SupplyRequestStatus.choices)
        counts = self.counts_by("status")
        context.update(
            tabs=[(s, labels[s], counts.get(s, 0)) for s in SupplyRequestStatus.values],
            total=sum(counts.values()),
            status=self.filter_values.get("status", ""),
            serves=self.serves,
            may_request=may_request(self.request.user),
            today=timezone.localdate(),
        )
        return context


def may_request(user) -> bool:
    # The rule itself: Django's backend would grant the superuser, who has no institution.
    return rules.has_perm("sharedcenters.add_supplyrequest", user)


class SupplyRequestCreateView(RestrictedMixin, PermissionRequiredMixin, View):
    """A member asks the sterilization center for packages: a row per set."""

    template_name = "sharedcenters/supply_request_form.html"

    def has_permission(self) -> bool:
        return may_request(self.request.user)

    def _forms(self, data=None):
        centers = request_centers(self.request.user)
        sets = (
            InstrumentSet.objects.filter(center__in=centers)
            .select_related("center")
            .order_by("center__name", "code")
        )
        rows = self.request.GET.get("rows", "")
        rows = min(int(rows), 20) if rows.isdigit() and int(rows) > 0 else 5
        return (
            forms.SupplyRequestForm(data, centers=centers),
            forms.supply_line_formset(sets=sets, data=data, rows=rows),
        )

    def _render(self, form, formset) -> HttpResponse:
        return render(self.request, self.template_name, {"form": form, "formset": formset})

    def get(self, request) -> HttpResponse:
        return self._render(*self._forms())

    def post(self, request) -> HttpResponse:
        form, formset = self._forms(request.POST)
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                created = services.supply_request_create(
                    actor=request.user,
                    center=data["center"],
                    lines=formset.lines(),
                    needed_by=data["needed_by"],
                    note=data["note"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, _("Request %(number)s submitted.") % {"number": created.number}
                )
                return redirect("sharedcenters:supply-request-detail", pk=created.pk)
        return self._render(form, formset)


class SupplyRequestDetailView(SupplyRequestsAccessMixin, View):
    """A request's lines with what has been sent, the dispatches by barcode, the requester's
    cancel button and the center's scan box that dispatches against the request."""

    template_name = "sharedcenters/supply_request_detail.html"

    def _context(self, supply_request: SupplyRequest, dispatch_form=None) -> dict:
        user = self.request.user
        sides = services.supply_request_sides(user, supply_request)
        is_open = supply_request.is_open
        center_side = CENTER in sides and user.has_perm("sharedcenters.change_package")
        if center_side and is_open:
            mark_on_shelf([supply_request])
        return {
            "supply_request": supply_request,
            "lines": supply_request.lines.all(),
            "events": PackageEvent.objects.filter(
                supply_request=supply_request, to_status=PackageStatus.DISPATCHED
            )
            .select_related("package__instrument_set", "actor")
            .order_by("at", "pk"),
            "may_cancel": user.has_perm("sharedcenters.change_supplyrequest")
            and SUPPLY_REQUESTS.can(user, supply_request, CANCEL, sides=sides),
            "dispatch_form": (dispatch_form or forms.SupplyDispatchForm())
            if center_side and is_open
            else None,
            "center_side": center_side,
        }

    def get(self, request, pk: int) -> HttpResponse:
        supply_request = selectors.supply_request_for_user(request.user, pk)
        return render(request, self.template_name, self._context(supply_request))

    def post(self, request, pk: int) -> HttpResponse:
        supply_request = selectors.supply_request_for_user(request.user, pk)
        op = request.POST.get("op", "")
        sides = services.supply_request_sides(request.user, supply_request)
        if op == "cancel" and sides & SUPPLY_REQUESTS.transitions[CANCEL].sides:
            return self._cancel(supply_request)
        if op == "dispatch" and CENTER in sides:
            return self._dispatch(supply_request)
        raise PermissionDenied

    def _cancel(self, supply_request: SupplyRequest) -> HttpResponse:
        if not self.request.user.has_perm("sharedcenters.change_supplyrequest"):
            raise PermissionDenied
        try:
            services.supply_request_cancel(actor=self.request.user, request=supply_request)
        except DomainError as exc:
            messages.error(self.request, exc.message)
        else:
            messages.success(
                self.request, _("Request %(number)s cancelled.") % {"number": supply_request.number}
            )
        return redirect("sharedcenters:supply-request-detail", pk=supply_request.pk)

    def _dispatch(self, supply_request: SupplyRequest) -> HttpResponse:
        if not self.request.user.has_perm("sharedcenters.change_package"):
            raise PermissionDenied
        form = forms.SupplyDispatchForm(self.request.POST)
        if form.is_valid():
            try:
                moved = services.packages_move(
                    actor=self.request.user,
                    barcodes=form.cleaned_data["barcodes"],
                    action=PackageAction.DISPATCH,
                    note=form.cleaned_data["note"],
                    supply_request=supply_request,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except DomainError as exc:
                messages.error(self.request, exc.message)
                return redirect("sharedcenters:supply-request-detail", pk=supply_request.pk)
            else:
                # Read again as the user may see it: the service changed its status.
                fresh = row_for_user(
                    SupplyRequest.objects.all(), self.request.user, supply_request.pk
                )
                message = _("%(count)d packages dispatched against %(number)s.") % {
                    "count": len(moved),
                    "number": supply_request.number,
                }
                if fresh.status == SupplyRequestStatus.FULFILLED:
                    message += " " + _("The request is complete.")
                messages.success(self.request, message)
                return redirect("sharedcenters:supply-request-detail", pk=supply_request.pk)
        return render(self.request, self.template_name, self._context(supply_request, form))
