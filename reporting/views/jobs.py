"""The alliance office recomputes a year's indicators and follows the job."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView, ListView

from alliance.models import Institution
from core.access import RestrictedMixin, profile_of, row_for_user
from core.errors import DomainError

from .. import selectors
from ..choices import JobKind
from ..services.indicators import FIRST_YEAR, recompute_job_create
from ..services.jobs import job_rerun


class RecomputeForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("year"))
    institution = forms.ModelChoiceField(
        label=gettext_lazy("institution"),
        queryset=Institution.objects.none(),
        required=False,
        empty_label=gettext_lazy("all institutions"),
        help_text=gettext_lazy("One institution (and its alliances' totals), or all."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        this_year = timezone.localdate().year
        self.fields["year"].widget.attrs.update(min=FIRST_YEAR, max=this_year)
        self.fields["year"].initial = this_year - 1
        profile = profile_of(user)
        institutions = Institution.objects.all()
        if profile is not None:
            institutions = Institution.objects.in_alliances_of(profile.institution_id)
        self.fields["institution"].queryset = institutions.in_tree_order()


class RecomputeAccessMixin(RestrictedMixin, PermissionRequiredMixin):
    permission_required = "reporting.import_facts"  # the office that imports also recomputes


class RecomputeListView(RecomputeAccessMixin, ListView):
    template_name = "reporting/recompute_list.html"
    context_object_name = "jobs"
    paginate_by = 20

    def get_queryset(self):
        return selectors.jobs_for(self.request.user, JobKind.RECOMPUTE).select_related(
            "requested_by", "institution"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", RecomputeForm(user=self.request.user))
        return context

    def post(self, request, *args, **kwargs):
        form = RecomputeForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                job = recompute_job_create(
                    actor=request.user,
                    year=form.cleaned_data["year"],
                    institution=form.cleaned_data["institution"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Recomputation queued."))
                return redirect("reporting:recompute-detail", pk=job.pk)
        self.object_list = self.get_queryset()
        return self.render_to_response(self.get_context_data(form=form))


class RecomputeDetailView(RecomputeAccessMixin, DetailView):
    template_name = "reporting/recompute_detail.html"
    context_object_name = "job"

    def get_object(self, queryset=None):
        return row_for_user(
            selectors.jobs_for(self.request.user, JobKind.RECOMPUTE).select_related(
                "requested_by", "institution"
            ),
            self.request.user,
            self.kwargs["pk"],
        )

    def get_template_names(self):
        if getattr(self.request, "htmx", False):
            return ["reporting/_recompute_status.html"]
        return [self.template_name]


class RecomputeRerunView(RecomputeAccessMixin, View):
    """Run a failed recomputation again (its worker died, or it stopped on an error)."""

    def post(self, request, pk: int):
        job = selectors.job_for_user(request.user, pk, kind=JobKind.RECOMPUTE)
        try:
            job_rerun(actor=request.user, job=job)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Recomputation queued."))
        return redirect("reporting:recompute-detail", pk=pk)
