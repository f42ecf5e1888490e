"""Pages of the alliance app: home per role, the institution directory, institution detail,
the security auditor's access log."""

import base64
import codecs
import csv

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView, TemplateView, View
from django_filters.views import FilterView
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import audit, selectors, services, twofactor
from .choices import AccessKind, Role, Tier, kinds_of_tier
from .errors import DomainError
from .filters import AccessLogFilter, InstitutionFilter
from .forms import (
    PatientForm,
    TwoFactorDisableForm,
    TwoFactorSetupForm,
    TwoFactorVerifyForm,
    add_service_errors,
)
from .models import AccessLog, Alliance, Institution, Patient, WorkerHeartbeat
from .querysets import profile_of


class RestrictedMixin(LoginRequiredMixin):
    """Base of every page that lists or shows rows: the queryset is `restrict(request.user)`."""

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user)


class PatientSearchMixin:
    """The patient search box of a form page (new referral, new exam order) posts its query:
    an identity number typed into it must never end up in a URL, where browser history, proxies
    and access logs would keep it. A search re-shows the page with an unbound form; `?find=`
    in the address still works for links that carry a name."""

    search_field = "find"

    @property
    def searching(self) -> bool:
        return self.request.method == "POST" and self.search_field in self.request.POST

    @property
    def find(self) -> str:
        source = self.request.POST if self.searching else self.request.GET
        return source.get(self.search_field, "").strip()

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.searching:
            kwargs.pop("data", None)
            kwargs.pop("files", None)
        return kwargs

    def post(self, request, *args, **kwargs):
        if self.searching:
            return self.render_to_response(self.get_context_data(form=self.get_form()))
        return super().post(request, *args, **kwargs)


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "alliance/home.html"

    def get(self, request, *args, **kwargs):
        profile = profile_of(request.user)
        if profile is not None and profile.role == Role.SECURITY_AUDITOR:
            return redirect("alliance:access-log")  # the auditor's only page
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        profile = profile_of(user)
        context["profile"] = profile
        if profile is None:
            # The superuser sees every alliance; an account without a staff profile sees none.
            context["alliances"] = [
                selectors.alliance_summary(alliance) for alliance in Alliance.objects.restrict(user)
            ]
            return context
        institution = profile.institution
        if profile.role == Role.BUREAU_VIEWER:
            context["district"] = institution.district
            context["district_summary"] = selectors.district_summary(institution.district_id)
        else:
            context["alliances"] = [
                selectors.alliance_summary(alliance)
                for alliance in selectors.alliances_of(institution.pk)
            ]
            context["patients"] = Patient.objects.restrict(user)
            context["signed_patients"] = context["patients"].filter(signed=True)
            context["departments"] = institution.departments.filter(is_active=True)
            context["children"] = institution.children.filter(is_active=True)
        return context


class InstitutionDirectoryView(RestrictedMixin, FilterView):
    model = Institution
    filterset_class = InstitutionFilter
    template_name = "alliance/institution_list.html"
    paginate_by = 20
    strict = False

    def get_queryset(self):
        return selectors.directory_queryset(self.request.user).in_tree_order()


class InstitutionDetailView(RestrictedMixin, DetailView):
    model = Institution
    template_name = "alliance/institution_detail.html"

    def get_object(self, queryset=None):
        return selectors.institution_for_user(self.request.user, self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(selectors.institution_detail(self.object))
        return context


def health(request: HttpRequest) -> JsonResponse:
    """Liveness for operators and load balancers: database, cache and last worker heartbeat."""
    from django.core.cache import cache

    checks, healthy = {}, True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        checks["database"], healthy = "error", False
    try:
        cache.set("health-check", "1", 5)
        checks["cache"] = "ok" if cache.get("health-check") == "1" else "error"
    except Exception:  # noqa: BLE001
        checks["cache"] = "error"
    healthy = healthy and checks["cache"] == "ok"
    last = WorkerHeartbeat.objects.order_by("-seen_at").first() if healthy else None
    checks["worker_last_seen"] = last.seen_at.isoformat() if last else None
    checks["time"] = timezone.now().isoformat()
    checks["status"] = "ok" if healthy else "error"
    return JsonResponse(checks, status=200 if healthy else 503)


def _error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": str(status)}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, _("The request could not be understood."))


def permission_denied(request, exception=None):
    return _error(request, 403, _("You do not have permission to do this."))


def page_not_found(request, exception=None):
    return _error(request, 404, _("Not found."))


def server_error(request):
    return _error(request, 500, _("Something went wrong on our side; the error has been logged."))


class NotificationListView(LoginRequiredMixin, TemplateView):
    """The inbox: the latest messages; opening it marks them read."""

    template_name = "alliance/notification_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        notifications = list(self.request.user.notifications.all()[:100])
        context["notifications"] = notifications
        from . import services

        services.notification_mark_read(
            user=self.request.user, notification_ids=[n.pk for n in notifications if not n.read_at]
        )
        return context


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


# --- two-factor sign-in (alliance/twofactor.py) ------------------------------------------------

MAX_CODE_FAILURES = 5  # wrong codes in one session before it is signed out


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("home")


def _qr_svg(text: str) -> str:
    """The otpauth:// address as an SVG QR code in a data: URI (the CSP allows data: images)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


class TwoFactorSetupView(LoginRequiredMixin, TemplateView):
    """Turn two-factor sign-in on: scan the QR code (or type the key), confirm with the current
    password and a first code. With a device already confirmed: its state, and for accounts
    that may go without, the way to turn it off."""

    template_name = "registration/two_factor_setup.html"

    def get(self, request, *args, **kwargs):
        device = twofactor.device_of(request.user)
        if device is not None:
            return self.render_status(device)
        return self.render_form(TwoFactorSetupForm(user=request.user, device=self.pending()))

    def post(self, request, *args, **kwargs):
        if twofactor.device_of(request.user) is not None:
            return redirect("two_factor_setup")
        device = self.pending()
        form = TwoFactorSetupForm(request.POST, user=request.user, device=device)
        if not form.is_valid():
            return self.render_form(form)
        with transaction.atomic():
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
            audit.record(AccessKind.TWO_FACTOR_ON, request=request)
        otp_login(request, device)
        request.session.pop(twofactor.NOT_ENROLLED_KEY, None)
        messages.success(
            request, _("Two-factor sign-in is on: from now on you sign in with a code.")
        )
        return redirect(_next_url(request))

    def pending(self) -> TOTPDevice:
        """The unconfirmed device of this enrolment: the same key on every reload."""
        device = twofactor.device_of(self.request.user, confirmed=False)
        return device or TOTPDevice.objects.create(
            user=self.request.user, name=_("Authenticator app"), confirmed=False
        )

    def render_form(self, form):
        device = form.device
        return self.render_to_response(self.get_context_data(
            form=form, qr=_qr_svg(device.config_url),
            secret=base64.b32encode(device.bin_key).decode(),
            required=twofactor.required_for(self.request.user),
            next=_next_url(self.request),
        ))  # fmt: skip

    def render_status(self, device):
        return self.render_to_response(self.get_context_data(
            device=device, required=twofactor.required_for(self.request.user),
            disable_form=TwoFactorDisableForm(user=self.request.user),
        ))  # fmt: skip


class TwoFactorVerifyView(LoginRequiredMixin, TemplateView):
    """The second step of signing in: the code from the authenticator app."""

    template_name = "registration/two_factor_verify.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.device = twofactor.device_of(request.user)
            if self.device is None:
                return redirect(f"{reverse('two_factor_setup')}?{request.GET.urlencode()}")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        form = TwoFactorVerifyForm(device=self.device)
        return self.render_to_response(self.get_context_data(form=form, next=_next_url(request)))

    def post(self, request, *args, **kwargs):
        form = TwoFactorVerifyForm(request.POST, device=self.device)
        if form.is_valid():
            otp_login(request, self.device)
            request.session.pop("_two_factor_failures", None)
            return redirect(_next_url(request))
        failures = request.session.get("_two_factor_failures", 0) + 1
        audit.record(AccessKind.TWO_FACTOR_FAILED, request=request, failures=failures)
        if failures >= MAX_CODE_FAILURES:
            logout(request)  # a new session: the password again, then the code
            messages.error(request, _("Too many wrong codes: sign in again."))
            return redirect("login")
        request.session["_two_factor_failures"] = failures
        return self.render_to_response(self.get_context_data(form=form, next=_next_url(request)))


class TwoFactorDisableView(LoginRequiredMixin, View):
    """Only for accounts that may go without a second factor; asks for the current password."""

    def post(self, request, *args, **kwargs):
        device = twofactor.device_of(request.user)
        if device is None or twofactor.required_for(request.user):
            raise PermissionDenied
        form = TwoFactorDisableForm(request.POST, user=request.user)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors.get("password", [])))
            return redirect("two_factor_setup")
        with transaction.atomic():
            TOTPDevice.objects.filter(user=request.user).delete()
            audit.record(AccessKind.TWO_FACTOR_OFF, request=request)
        messages.success(request, _("Two-factor sign-in is off."))
        return redirect("two_factor_setup")


# --- patient records ---------------------------------------------------------------------------


class PatientAccessMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Clinical staff and the alliance office; the health bureau and the auditor never."""

    permission_required = "alliance.view_patient"

    def patients(self):
        return Patient.objects.restrict(self.request.user).select_related(
            "home_institution", "signing_institution"
        )


class PatientListView(PatientAccessMixin, PatientSearchMixin, ListView):
    """The residents the user may see, newest first; the search box posts (see the mixin):
    a full identity number, a phone number or part of a name."""

    template_name = "alliance/patient_list.html"
    paginate_by = 30

    def get_queryset(self):
        patients = self.patients().order_by("-created_at", "-pk")
        if self.find:
            # Encrypted numbers: only the whole number matches, through its keyed hash.
            patients = patients.filter(
                Q(id_number_hash=Patient.hash_id_number(self.find))
                | Q(phone=self.find)
                | Q(name__icontains=self.find)
            )
        return patients

    def post(self, request, *args, **kwargs):
        if not self.searching:
            return HttpResponseNotAllowed(["GET"])
        return self.get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            find=self.find, may_register=self.request.user.has_perm("alliance.add_patient")
        )
        return context


class PatientFormMixin(PatientAccessMixin):
    template_name = "alliance/patient_form.html"

    def form(self, data=None, instance=None) -> PatientForm:
        user = self.request.user
        profile = profile_of(user)
        scope = (
            Institution.objects.all() if user.is_superuser
            else profile.patient_scope() if profile else Institution.objects.none()
        )  # fmt: skip
        primary = Institution.objects.filter(kind__in=kinds_of_tier(Tier.PRIMARY))
        initial = {"home_institution": profile.institution_id} if profile and not instance else {}
        return PatientForm(
            data, instance=instance, initial=initial, institutions=scope.order_by("name"),
            signing_institutions=(scope & primary).order_by("name") if not user.is_superuser
            else primary.order_by("name"),
        )  # fmt: skip

    def render_form(self, form, patient=None) -> HttpResponse:
        return render(self.request, self.template_name, {"form": form, "patient": patient})


class PatientCreateView(PatientFormMixin, View):
    permission_required = "alliance.add_patient"

    def get(self, request, *args, **kwargs):
        return self.render_form(self.form())

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        if not form.is_valid():
            return self.render_form(form)
        try:
            patient = services.patient_create(
                actor=request.user, channel="web", **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.render_form(form)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.render_form(form)
        messages.success(request, _("%(name)s is registered.") % {"name": patient.name})
        return redirect("alliance:patient-detail", pk=patient.pk)


class PatientUpdateView(PatientFormMixin, View):
    permission_required = "alliance.change_patient"

    def get(self, request, pk, *args, **kwargs):
        patient = get_object_or_404(self.patients(), pk=pk)
        return self.render_form(self.form(instance=patient), patient)

    def post(self, request, pk, *args, **kwargs):
        patient = get_object_or_404(self.patients(), pk=pk)
        form = self.form(request.POST, instance=patient)
        if not form.is_valid():
            return self.render_form(form, patient)
        try:
            services.patient_update(
                actor=request.user, patient=patient, channel="web", **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.render_form(form, patient)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return self.render_form(form, patient)
        messages.success(request, _("The record is saved."))
        return redirect("alliance:patient-detail", pk=patient.pk)


class PatientDetailView(PatientAccessMixin, View):
    """One record, identity number masked; its referrals and exam orders. Each view is in the
    access log. POST (the "show" button) reveals the full number once, also logged."""

    template_name = "alliance/patient_detail.html"

    def get(self, request, pk, *args, **kwargs):
        patient = get_object_or_404(self.patients(), pk=pk)
        services.patient_viewed(actor=request.user, patient=patient, channel="web")
        return self.render_record(patient, revealed=None)

    def post(self, request, pk, *args, **kwargs):
        patient = get_object_or_404(self.patients(), pk=pk)
        number = services.patient_id_number_revealed(
            actor=request.user, patient=patient, channel="web"
        )
        return self.render_record(patient, revealed=number)

    def render_record(self, patient, revealed: str | None) -> HttpResponse:
        from referrals.models import Referral  # late: referrals depends on alliance
        from sharedcenters.models import ExamOrder

        user = self.request.user
        referrals = (
            Referral.objects.restrict(user).filter(patient=patient)
            .select_related("from_institution", "to_institution").order_by("-created_at")[:20]
        )  # fmt: skip
        orders = (
            ExamOrder.objects.restrict(user).filter(patient=patient)
            .select_related("center").order_by("-ordered_at")[:20]
        )  # fmt: skip
        return render(self.request, self.template_name, {
            "patient": patient, "revealed": revealed, "referrals": referrals, "orders": orders,
            "may_change": user.has_perm("alliance.change_patient"),
        })  # fmt: skip
