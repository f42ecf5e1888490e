"""Referral pages: my referrals, the incoming worklist, new referral, detail, slip, actions."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, FormView, ListView

from alliance import documents
from alliance.forms import add_service_errors
from alliance.models import Institution
from alliance.selectors import patient_choices
from alliance.views import PatientSearchMixin
from core import audit
from core.access import RestrictedMixin, profile_of
from core.choices import AccessKind
from core.errors import DomainError
from core.filters import FilteredListMixin
from core.history import latest_changes

from . import forms, selectors, services
from .choices import Action, Service, Status, Urgency
from .filters import FollowUpTaskFilter, ReferralFilter
from .models import FollowUpTask, Referral, ReferralAttachment, ResponseLimitHistory


class ReferralAccessMixin(RestrictedMixin, PermissionRequiredMixin):
    """Referral pages: their rows restricted, what each shows in the access log."""

    permission_required = "referrals.view_referral"


class ReferralListView(FilteredListMixin, ReferralAccessMixin, ListView):
    """My referrals: sent and received, filterable (the API's ReferralFilter); search by number
    or patient."""

    filterset_class = ReferralFilter
    template_name = "referrals/referral_list.html"
    paginate_by = 25

    def get_queryset(self):
        return selectors.referrals_for(self.request.user).order_by("-created_at", "-pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["now"] = timezone.now()
        return context


class IncomingWorklistView(ReferralAccessMixin, ListView):
    """The receiving side's worklist: most urgent first, then the nearest deadline."""

    template_name = "referrals/referral_worklist.html"
    paginate_by = 50

    def get_queryset(self):
        return selectors.incoming_worklist(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["now"] = timezone.now()
        overdue = selectors.overdue(self.request.user)
        context["overdue_count"] = overdue.count()
        context["overdue_referrals"] = list(overdue[:20]) if context["overdue_count"] else []
        audit.shown(context["overdue_referrals"])  # the overdue box names patients too
        return context


class ReferBackListView(ReferralAccessMixin, ListView):
    """Hospital side: completed upward referrals of the last 30 days not yet sent back down."""

    template_name = "referrals/referral_refer_back.html"
    paginate_by = 50

    def get_queryset(self):
        return selectors.to_refer_back(self.request.user)


class ReferralDetailView(ReferralAccessMixin, DetailView):
    template_name = "referrals/referral_detail.html"
    context_object_name = "referral"

    def get_object(self, queryset=None):
        return selectors.referral_for_user(self.request.user, self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        referral = self.object
        actions = services.allowed_actions(self.request.user, referral)
        alliance = Institution.objects.in_alliances_of(
            referral.from_institution.tree_root.pk
        ).active()
        context.update(
            actions=actions,
            events=referral.events.select_related("actor").order_by("at", "pk"),
            attachments=referral.attachments.all(),
            follow_ups=referral.follow_ups.all(),
            may_attach=bool(
                services.sides_of(self.request.user, referral)
                & {services.SENDER, services.RECEIVER}
            )
            and (referral.status == Status.DRAFT or referral.is_open),
            now=timezone.now(),
            forms={
                Action.ACCEPT: forms.NoteForm(prefix="accept"),
                Action.REQUEST_INFO: forms.RequestInfoForm(prefix="request_info"),
                Action.REJECT: forms.RejectForm(prefix="reject"),
                Action.REDIRECT: forms.RedirectForm(
                    prefix="redirect",
                    institutions=alliance.exclude(pk=referral.from_institution_id).select_related(
                        "parent__parent"
                    ),
                    source=referral.from_institution,
                ),
                Action.SCHEDULE: forms.ScheduleForm(prefix="schedule"),
                Action.ARRIVE: forms.NoteForm(prefix="arrive"),
                Action.COMPLETE: forms.CompleteForm(prefix="complete"),
                Action.CANCEL: forms.ReasonForm(prefix="cancel"),
                Action.SUBMIT: forms.NoteForm(prefix="submit"),
                Action.NO_SHOW: forms.NoteForm(prefix="no_show"),
            },
        )
        return context


def attachment_response(referral: Referral, attachment_id) -> FileResponse:
    """Serve a file of a referral the caller may already see; never inline, never sniffed."""
    try:
        attachment = referral.attachments.get(pk=int(attachment_id))
    except (ValueError, TypeError, ReferralAttachment.DoesNotExist) as exc:
        raise Http404 from exc
    audit.shown(attachment, kind=AccessKind.FILE_DOWNLOAD, patient_id=referral.patient_id)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["Cache-Control"] = "private, no-store"
    return response


class AttachmentDownloadView(ReferralAccessMixin, View):
    def get(self, request, pk: int, attachment_id: int):
        return attachment_response(selectors.referral_for_user(request.user, pk), attachment_id)


class AttachmentUploadView(ReferralAccessMixin, View):
    def post(self, request, pk: int):
        referral = selectors.referral_for_user(request.user, pk)
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a file to attach."))
            return redirect("referrals:detail", pk=pk)
        try:
            services.referral_attach(actor=request.user, referral=referral, upload=upload)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("File attached."))
        return redirect("referrals:detail", pk=pk)


class ReferralSlipView(ReferralDetailView):
    """The printable referral slip (转诊单) the patient carries."""

    template_name = "referrals/referral_slip.html"

    def render_to_response(self, context, **response_kwargs):
        if not documents.wants_pdf(self.request):
            return super().render_to_response(context, **response_kwargs)
        referral = self.object
        return documents.pdf_response(
            self.request,
            "documents/referral_slip.html",
            {"referral": referral},
            issuer=referral.from_institution,
            filename=f"referral-{referral.number}.pdf",
        )


ACTIONS = {
    Action.SUBMIT: (forms.NoteForm, services.referral_submit),
    Action.ACCEPT: (forms.NoteForm, services.referral_accept),
    Action.REQUEST_INFO: (forms.RequestInfoForm, services.referral_request_info),
    Action.REJECT: (forms.RejectForm, services.referral_reject),
    Action.REDIRECT: (forms.RedirectForm, services.referral_redirect),
    Action.SCHEDULE: (forms.ScheduleForm, services.referral_schedule),
    Action.ARRIVE: (forms.NoteForm, services.referral_arrive),
    Action.COMPLETE: (forms.CompleteForm, services.referral_complete),
    Action.CANCEL: (forms.ReasonForm, services.referral_cancel),
    Action.NO_SHOW: (forms.NoteForm, services.referral_no_show),
}


class ReferralActionView(ReferralAccessMixin, View):
    """POST /referrals/<pk>/<action>/: the buttons of the detail page, through the services."""

    def post(self, request, pk: int, action: str):
        referral = selectors.referral_for_user(request.user, pk)
        if action == Action.REFER_BACK:
            return self._refer_back(referral)
        if action not in ACTIONS:
            raise Http404
        form_class, service = ACTIONS[action]
        kwargs = {"prefix": action}
        if form_class is forms.RedirectForm:
            kwargs["institutions"] = Institution.objects.in_alliances_of(
                referral.from_institution.tree_root.pk
            ).active()
        form = form_class(request.POST, **kwargs)
        if not form.is_valid():
            return self._fail(referral, form.errors)
        data = dict(form.cleaned_data)
        data.pop("reason_code", None)
        try:
            service(actor=request.user, referral=referral, **data)
        except ValidationError as exc:
            return self._fail(
                referral, exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("referrals:detail", pk=referral.pk)
        messages.success(
            request,
            _("%(number)s: %(action)s.")
            % {
                "number": referral.number,
                "action": Action(action).label,
            },
        )
        return redirect("referrals:detail", pk=referral.pk)

    def _refer_back(self, referral: Referral):
        try:
            back, _created = services.referral_refer_back(
                actor=self.request.user, referral=referral
            )
        except DomainError as exc:
            messages.error(self.request, exc.message)
            return redirect("referrals:detail", pk=referral.pk)
        messages.success(
            self.request, _("Downward referral %(number)s drafted.") % {"number": back.number}
        )
        return redirect("referrals:detail", pk=back.pk)

    def _fail(self, referral: Referral, errors) -> HttpResponseRedirect:
        if isinstance(errors, dict):
            text = "; ".join(f"{' '.join(str(m) for m in msgs)}" for msgs in errors.values())
        else:
            text = " ".join(str(m) for m in errors)
        messages.error(self.request, text)
        return redirect("referrals:detail", pk=referral.pk)


class ReferralCreateView(PatientSearchMixin, RestrictedMixin, PermissionRequiredMixin, FormView):
    """New referral: find the patient (ID number, phone or name), pick the target, submit."""

    permission_required = "referrals.add_referral"
    template_name = "referrals/referral_form.html"
    form_class = forms.ReferralForm

    def _patient_choices(self):
        """The matches of a search, or the latest 50 (newest first) and the patient picked from
        a search; a submitted referral validates the posted one."""
        posted = self.request.method == "POST" and not self.searching
        source = self.request.POST if posted else self.request.GET
        patients = patient_choices(
            self.request.user, find=self.find, picked=source.get("patient", ""), posted=posted
        )
        return patients if posted or self.find else patients.order_by("-created_at")

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        profile = profile_of(self.request.user)
        source = profile.institution if profile else None
        kwargs["patients"] = self._patient_choices()
        kwargs["source"] = source
        kwargs["institutions"] = (
            Institution.objects.in_alliances_of(source.tree_root.pk)
            .active()
            .exclude(pk=source.pk)
            .select_related("parent__parent")
            if source
            else Institution.objects.none()
        ).in_tree_order()
        return kwargs

    def get_initial(self):
        initial = super().get_initial()
        if self.request.GET.get("patient"):
            initial["patient"] = self.request.GET["patient"]
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["find"] = self.find
        patient_id = self.request.GET.get("patient") or self.request.POST.get("patient")
        context["targets"] = []
        if patient_id and str(patient_id).isdigit():
            patient = patient_choices(self.request.user, picked=patient_id, posted=True).first()
            if patient is not None:
                service = (
                    self.request.POST.get("service")
                    or self.request.GET.get("service")
                    or Service.OUTPATIENT
                )
                context["targets"] = selectors.suggest_targets(
                    self.request.user,
                    patient,
                    service if service in Service.values else Service.OUTPATIENT,
                )[:6]
        return context

    def form_valid(self, form):
        data = dict(form.cleaned_data)
        submit = data.pop("submit_now")
        try:
            referral, _created = services.referral_create(
                actor=self.request.user, submit=submit, **data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        if referral.status == Status.SUBMITTED:
            messages.success(
                self.request, _("Referral %(number)s submitted.") % {"number": referral.number}
            )
        else:
            messages.info(self.request, _("Draft %(number)s saved.") % {"number": referral.number})
        return redirect("referrals:detail", pk=referral.pk)


class FollowUpListView(FilteredListMixin, ReferralAccessMixin, ListView):
    """The community's follow-up worklist: open tasks, earliest due first; filtered like the
    API's follow-ups (FollowUpTaskFilter)."""

    template_name = "referrals/followup_list.html"
    paginate_by = 50
    filterset_class = FollowUpTaskFilter

    def get_queryset(self):  # restricted by the base
        return (
            FollowUpTask.objects.filter(done_at__isnull=True)
            .select_related("patient", "referral", "institution")
            .order_by("due_on", "pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["today"] = timezone.localdate()
        return context


class FollowUpDoneView(ReferralAccessMixin, View):
    def post(self, request, pk: int):
        task = selectors.follow_up_for_user(request.user, pk)
        try:
            services.follow_up_done(
                actor=request.user, task=task, note=request.POST.get("note", "")
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Follow-up recorded."))
        return redirect("referrals:follow-ups")


class ResponseLimitsView(RestrictedMixin, PermissionRequiredMixin, FormView):
    """The alliance office sets how fast receivers must answer, per urgency."""

    permission_required = "referrals.change_responselimit"
    template_name = "referrals/response_limits.html"
    form_class = forms.ResponseLimitsForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        current = {}
        for urgency in Urgency.values:
            respond, expire = services.response_limit(urgency)
            current[urgency] = (
                int(respond.total_seconds() // 60),
                int(expire.total_seconds() // 60),
            )
        kwargs["current"] = current
        return kwargs

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, history=latest_changes(ResponseLimitHistory))

    def form_valid(self, form):
        services.response_limits_set(actor=self.request.user, limits=form.limits())
        messages.success(self.request, _("Response limits saved."))
        return redirect("referrals:limits")
