"""The security auditor's access log: search and CSV export."""

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters.views import FilterView

from core import audit
from core.choices import AccessKind

from .. import spreadsheets
from ..filters import AccessLogFilter
from ..models import AccessLog


class AccessLogView(LoginRequiredMixin, PermissionRequiredMixin, FilterView):
    """The security auditor's search of the access log; `?format=csv` exports what it found
    (and that export is itself logged, with its filter and row count)."""

    permission_required = "alliance.view_accesslog"
    filterset_class = AccessLogFilter
    template_name = "alliance/access_log.html"
    paginate_by = 50

    def get_queryset(self):
        return AccessLog.objects.select_related("user", "patient")

    def render_to_response(self, context, **response_kwargs):
        if self.request.GET.get("format") != "csv" or not self.filterset.is_valid():
            return super().render_to_response(context, **response_kwargs)
        rows = self.filterset.qs
        filters = {k: v for k, v in self.request.GET.items() if k not in ("format", "page")}
        audit.record(
            AccessKind.EXPORT,
            request=self.request,
            table="access_log",
            format="csv",
            filters=filters,
            rows=rows.count(),
        )
        return self.csv(rows)

    def title(self) -> str:
        """The first row: what was searched, over which days, and when it was exported."""
        data = self.filterset.form.cleaned_data
        parts = [_("Access log")]
        for name, field in self.filterset.form.fields.items():
            value = data.get(name)
            if value in (None, "") or name in ("since", "until"):
                continue
            if name == "kind":
                value = dict(field.choices).get(value, value)
            parts.append(f"{field.label}：{value}")
        since, until = data.get("since"), data.get("until")
        if since or until:
            parts.append(f"{since or '…'} – {until or '…'}")
        now = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        parts.append(_("exported %(time)s") % {"time": now})
        return " · ".join(str(p) for p in parts)

    def csv(self, rows) -> StreamingHttpResponse:
        writer = spreadsheets.csv_writer(spreadsheets.Echo())
        title = self.title()
        header = [
            _("Time"),
            _("Event"),
            _("User"),
            _("IP address"),
            _("HTTP method"),
            _("Address"),
            _("Patient"),
            _("Detail"),
        ]

        def lines():
            yield spreadsheets.BOM + writer.writerow([title])
            yield writer.writerow(header)
            for entry in rows.iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        timezone.localtime(entry.at).isoformat(timespec="seconds"),
                        entry.get_kind_display(),
                        entry.username,
                        entry.ip_address or "",
                        entry.method,
                        entry.path,
                        entry.patient.name if entry.patient else "",
                        entry.summary,
                    ]
                )

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        data = self.filterset.form.cleaned_data
        days = [d.isoformat() for d in (data.get("since"), data.get("until")) if d]
        stamp = "_".join(days) if days else timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response
