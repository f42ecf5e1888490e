"""The center's worklist: open orders of the user's centers by state, with the scan-to-receive
box."""

from __future__ import annotations

import rules
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import ListView

from core.access import RestrictedMixin
from core.errors import DomainError

from .. import selectors, services
from ..choices import OPEN_ORDER_STATUSES, OrderStatus
from .base import staff_center_ids
from .orders import ITEMS

# Worklist tabs in the order the work flows.
WORKLIST_STATES = [
    OrderStatus.ORDERED,
    OrderStatus.COLLECTED,
    OrderStatus.SCHEDULED,
    OrderStatus.RECEIVED,
    OrderStatus.IN_PROGRESS,
    OrderStatus.REJECTED,
]


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
