"""Reference and overview pages: the centers and their catalogs, the slot board, the dashboard."""

from __future__ import annotations

import datetime

from django.db.models import Prefetch
from django.utils import timezone
from django.views.generic import ListView, TemplateView

from alliance.choices import Role
from core.access import profile_of

from .. import forms, selectors, selectors_dashboard
from ..choices import CenterKind
from ..models import ServiceItem, SharedCenter
from .base import OrdersAccessMixin, PredicateRequiredMixin, reads_dashboard, staff_center_ids
from .orders import day_start


class CenterListView(OrdersAccessMixin, ListView):
    """The alliance's shared centers, who hosts them, how to call them, what they offer."""

    template_name = "sharedcenters/center_list.html"

    def get_queryset(self):  # restricted by the base
        return (
            SharedCenter.objects.filter(is_active=True)
            .select_related("institution", "alliance")
            .prefetch_related(
                Prefetch("items", queryset=ServiceItem.objects.filter(is_active=True))
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["may_order"] = self.request.user.has_perm("sharedcenters.add_examorder")
        return context


class SlotBoardView(OrdersAccessMixin, TemplateView):
    """One center's appointment slots on one day, with the places still free."""

    template_name = "sharedcenters/slot_board.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        bookable = selectors.bookable_centers(user)
        # Imaging first: its slot board is the busy one (ECG books few appointments).
        centers = sorted(bookable, key=lambda c: (c.kind != CenterKind.IMAGING, c.name))
        tomorrow = timezone.localdate() + datetime.timedelta(days=1)
        data = {
            "center": self.request.GET.get("center") or (centers[0].pk if centers else ""),
            "day": self.request.GET.get("day") or tomorrow.isoformat(),
        }
        form = forms.SlotBoardForm(data, centers=bookable)
        values = form.values()
        center = values.get("center")
        day = values.get("day", tomorrow)
        rows = []
        if center is not None:
            next_day = day_start(day + datetime.timedelta(days=1))
            slots = selectors.slots_on(user, center, day_start(day), next_day)
            for slot in slots:
                free_ordinary, free_reserved = selectors.free_places(slot)
                rows.append((slot, free_ordinary, free_reserved))
        context.update(
            form=form,
            centers=centers,
            center=center,
            day=day,
            rows=rows,
            previous_day=day - datetime.timedelta(days=1),
            next_day=day + datetime.timedelta(days=1),
            totals={
                "capacity": sum(s.capacity for s, _o, _r in rows),
                "reserved": sum(s.priority_reserved for s, _o, _r in rows),
                "booked": sum(s.booked for s, _o, _r in rows),
                "booked_priority": sum(s.booked_priority for s, _o, _r in rows),
                "free_ordinary": sum(o for _s, o, _r in rows),
                "free_reserved": sum(r for _s, _o, r in rows),
            },
        )
        return context


class DashboardView(PredicateRequiredMixin, TemplateView):
    """Per center over a period: volume by member, turnaround, on-time rate, rejections,
    critical values and the green channel's imaging wait."""

    template_name = "sharedcenters/dashboard.html"
    predicate = reads_dashboard

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        centers = selectors.dashboard_centers(user)
        profile = profile_of(user)
        if profile is not None and profile.role == Role.CENTER_STAFF:
            centers = centers.filter(pk__in=staff_center_ids(user))  # their own figures only
        default_from, default_to = selectors_dashboard.default_period()
        data = self.request.GET.copy()
        data.setdefault("date_from", default_from.isoformat())
        data.setdefault("date_to", default_to.isoformat())
        form = forms.PeriodForm(data, centers=centers)
        values = form.values()
        date_from = values.get("date_from", default_from)
        date_to = values.get("date_to", default_to)
        if date_from > date_to:
            date_from, date_to = default_from, default_to
        if values.get("center"):
            centers = centers.filter(pk=values["center"].pk)
        figures = selectors_dashboard.dashboard(
            centers.select_related("institution"),
            date_from,
            date_to,
            orders=selectors.visible_orders(user),
        )
        context.update(form=form, figures=figures, date_from=date_from, date_to=date_to)
        return context
