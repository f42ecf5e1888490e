"""The security auditor's access log: search and CSV export."""

import codecs
import csv

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters.views import FilterView

from .. import audit
from ..choices import AccessKind
from ..filters import AccessLogFilter
from ..models import AccessLog


class _Echo:
    def write(self, value: str) -> str:
        return value


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
            AccessKind.EXPORT, request=self.request, table="access_log", format="csv",
            filters=filters, rows=rows.count(),
        )  # fmt: skip
        return self.csv(rows)

    def csv(self, rows) -> StreamingHttpResponse:
        writer = csv.writer(_Echo())
        header = [_("Time"), _("Event"), _("User"), _("IP address"), _("HTTP method"),
                  _("Address"), _("Patient"), _("Detail")]  # fmt: skip

        def lines():
            yield codecs.BOM_UTF8.decode() + writer.writerow(header)
            for entry in rows.iterator(chunk_size=2000):
                yield writer.writerow([
                    timezone.localtime(entry.at).isoformat(timespec="seconds"),
                    entry.get_kind_display(), entry.username, entry.ip_address or "",
                    entry.method, entry.path, entry.patient.name if entry.patient else "",
                    entry.summary,
                ])  # fmt: skip

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
        return response
