"""The members' supply requests (申领): the list (the center's pick list, open ones first, with
what is on the shelf), a new request, and a request's page with the requester's cancel button
and the center's scan box that dispatches packages against it."""

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
from django.views.generic import ListView

from alliance.forms import add_service_errors
from core.access import RestrictedMixin, row_for_user
from core.errors import DomainError
from core.filters import FilteredListMixin

from .. import forms, selectors, services
from ..choices import CenterKind, PackageAction, PackageStatus, SupplyRequestStatus
from ..filters import SupplyRequestFilter
from ..models import InstrumentSet, Package, PackageEvent, SharedCenter, SupplyRequest
from ..selectors import request_centers
from ..workflow import CANCEL, CENTER, SUPPLY_REQUESTS
from .base import staff_center_ids


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
