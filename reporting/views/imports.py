"""The alliance office's import pages: upload a file, read its preview (校验) and confirm it,
watch its job, read the rejected rows."""

from __future__ import annotations

import codecs

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView, ListView

from core.access import RestrictedMixin, row_for_user
from core.errors import DomainError

from .. import selectors
from ..choices import FactKind, JobKind
from ..forms import ImportForm
from ..models import Job
from ..services import imports as services
from ..services.jobs import job_rerun
from ..specs import ALIASES, SPECS

# What to write in each column, shown next to the upload form.
COLUMN_HINTS = {
    "institution_code": gettext_lazy("the institution's code in the directory"),
    "record_id": gettext_lazy("the visit's number in the hospital system, unique per institution"),
    "stay_id": gettext_lazy("the stay's number in the hospital system, unique per institution"),
    "visit_date": gettext_lazy("a date: 2019-01-05, 2019/1/5, 2019年1月5日, a date cell"),
    "admit_date": gettext_lazy("a date: 2019-01-05, 2019/1/5, 2019年1月5日, a date cell"),
    "discharge_date": gettext_lazy("a date; empty while in hospital"),
    "effective_from": gettext_lazy("a date: beds open from this day on"),
    "visit_type": gettext_lazy(
        "门诊 or 急诊 (普通门诊, 急诊科, outpatient, emergency); empty is 门诊"
    ),
    "department": gettext_lazy("optional"),
    "visit_count": gettext_lazy("whole number, at least 1; empty or absent is 1"),
    "total_cost": gettext_lazy("yuan, at most two decimals: 1234.50, 1,234.50, ￥1,234.50"),
    "open_beds": gettext_lazy("whole number of beds actually open"),
    "month": gettext_lazy("a month: 2019-01, 2019/1, 2019年1月, 201901"),
    "direction": gettext_lazy("上转 or 下转 (up, down)"),
    "to_institution_code": gettext_lazy("optional: the receiving institution's code"),
    "count": gettext_lazy("whole number of referrals sent in the month, 0 or more"),
}


def import_jobs_for(user) -> QuerySet[Job]:
    return selectors.jobs_for(user, JobKind.IMPORT)


class ImportAccessMixin(RestrictedMixin, PermissionRequiredMixin):
    permission_required = "reporting.import_facts"


class ImportListView(ImportAccessMixin, ListView):
    """The upload form, the expected columns of each kind, and the alliance's recent imports."""

    template_name = "reporting/import_list.html"
    context_object_name = "jobs"
    paginate_by = 20

    def get_queryset(self):
        return import_jobs_for(self.request.user).select_related("requested_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ImportForm())
        context["kinds"] = [
            {
                "kind": kind,
                "label": FactKind(kind).label,
                "columns": [
                    (
                        c.name,
                        c.required,
                        COLUMN_HINTS.get(c.name, ""),
                        "、".join(ALIASES.get(c.name, ())),
                    )
                    for c in spec.columns
                ],
                "template_url": reverse("reporting:import-template", args=[kind]),
            }
            for kind, spec in SPECS.items()
        ]
        return context

    def post(self, request, *args, **kwargs):
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = services.import_job_create(
                    actor=request.user,
                    kind=form.cleaned_data["kind"],
                    upload=form.cleaned_data["file"],
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    _(
                        "File received: it is being checked. Read the preview, then confirm the "
                        "import."
                    ),
                )
                return redirect("reporting:import-detail", pk=job.pk)
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(form=form))


class ImportDetailView(ImportAccessMixin, DetailView):
    """One import: status and progress (refreshed by htmx while it runs), counts, bad rows."""

    template_name = "reporting/import_detail.html"
    context_object_name = "job"

    def get_object(self, queryset=None):
        return row_for_user(
            import_jobs_for(self.request.user).select_related("requested_by"),
            self.request.user,
            self.kwargs["pk"],
        )

    def get_template_names(self):
        if getattr(self.request, "htmx", False):
            return ["reporting/_import_job_status.html"]
        return [self.template_name]


class ImportConfirmView(ImportAccessMixin, View):
    """The office has read the preview: import the file for real."""

    def post(self, request, pk: int):
        job = selectors.job_for_user(request.user, pk, kind=JobKind.IMPORT)
        try:
            services.import_job_confirm(actor=request.user, job=job)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Confirmed: the file is being imported."))
        return redirect("reporting:import-detail", pk=job.pk)


class ImportTemplateView(ImportAccessMixin, View):
    """An empty file of one kind: the header row, UTF-8 with a BOM so Excel opens it right."""

    def get(self, request, kind: str):
        if kind not in SPECS:
            raise Http404
        header = ",".join(SPECS[kind].column_names) + "\r\n"
        response = HttpResponse(
            codecs.BOM_UTF8 + header.encode(), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{kind}.csv"'
        return response


class ImportRerunView(ImportAccessMixin, View):
    """Run a failed import again (its worker died): the kept file is read once more."""

    def post(self, request, pk: int):
        job = selectors.job_for_user(request.user, pk, kind=JobKind.IMPORT)
        try:
            job_rerun(actor=request.user, job=job)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The import runs again."))
        return redirect("reporting:import-detail", pk=pk)
