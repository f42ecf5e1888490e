"""The inbox: the user's own messages, 25 a page, grouped by day; "mark all as read".

Only the user's own rows (`request.user.notifications`), never anyone else's: Notification is
not a restricted model, so these views are on the own-account list of
tests/security/test_url_bases.py rather than on the restricted bases.
"""

import datetime
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import ListView, View

from core.filters import FilteredListMixin

from .. import services
from ..filters import NotificationFilter


def day_label(day: datetime.date, today: datetime.date) -> str:
    if day == today:
        return _("Today")
    if day == today - datetime.timedelta(days=1):
        return _("Yesterday")
    return day.strftime("%Y-%m-%d")


class NotificationListView(FilteredListMixin, LoginRequiredMixin, ListView):
    """The inbox, newest first; opening a page marks read the messages it shows (not the
    others: the badge keeps counting them)."""

    filterset_class = NotificationFilter
    filter_inputs = ("unread", "kind")
    template_name = "alliance/notification_list.html"
    paginate_by = 25
    context_object_name = "notifications"

    def get_queryset(self):
        return self.request.user.notifications.all()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        shown = list(context["object_list"])
        services.notification_mark_read(
            user=self.request.user, notification_ids=[n.pk for n in shown if not n.read_at]
        )
        today = timezone.localdate()
        context["days"] = [
            (day_label(day, today), list(rows))
            for day, rows in groupby(shown, key=lambda n: timezone.localdate(n.created_at))
        ]
        return context


class NotificationMarkAllReadView(LoginRequiredMixin, View):
    """ "Mark all as read": every unread message of the user; back to the inbox as filtered."""

    http_method_names = ["post"]

    def post(self, request):
        count = services.notification_mark_all_read(user=request.user)
        if count:
            text = ngettext(
                "%(count)d message marked as read.", "%(count)d messages marked as read.", count
            )
            messages.success(request, text % {"count": count})
        else:
            messages.info(request, _("No unread messages."))
        back = request.POST.get("next", "")
        inbox = reverse("notifications")
        if not back.startswith(inbox) or not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = inbox
        return redirect(back)
