"""Patient records: list with a posted search, registration, the record, changes."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.generic import ListView, View

from core.access import RestrictedMixin, profile_of
from core.api.throttling import IdentityNumberThrottle, refused_message
from core.errors import DomainError

from .. import services
from ..forms import PatientForm, add_service_errors
from ..models import Patient
from ..panels import panels_for
from ..selectors import (
    patient_for_user,
    patients_for,
    registrable_institutions,
    signing_institutions,
)
from .base import PatientSearchMixin


class PatientAccessMixin(RestrictedMixin, PermissionRequiredMixin):
    """Clinical staff and the alliance office; the health bureau and the auditor never. What a
    page shows is in the access log (RestrictedMixin)."""

    permission_required = "alliance.view_patient"

    def patients(self):
        return patients_for(self.request.user).select_related(
            "home_institution", "signing_institution"
        )

    def patient(self, pk: int) -> Patient:
        """One record (404 when not the user's), named in the access log if the page shows it."""
        return patient_for_user(self.request.user, pk)


class PatientListView(PatientAccessMixin, PatientSearchMixin, ListView):
    """The residents the user may see, newest first; the search box posts (see the mixin):
    a full identity number, a phone number or part of a name."""

    template_name = "alliance/patient_list.html"
    paginate_by = 30

    def get_queryset(self):
        patients = self.patients().order_by("-created_at", "-pk")
        if self.find:
            patients = patients.search(self.find)
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
        initial = {"home_institution": profile.institution_id} if profile and not instance else {}
        # The same rules as the API's fields and the service (alliance.selectors).
        return PatientForm(
            data,
            instance=instance,
            initial=initial,
            institutions=registrable_institutions(user).order_by("name"),
            signing_institutions=signing_institutions(user).order_by("name"),
        )

    def render_form(self, form, patient=None, status: int = 200) -> HttpResponse:
        return render(
            self.request, self.template_name, {"form": form, "patient": patient}, status=status
        )


class PatientCreateView(PatientFormMixin, View):
    permission_required = "alliance.add_patient"

    def get(self, request, *args, **kwargs):
        return self.render_form(self.form())

    def post(self, request, *args, **kwargs):
        form = self.form(request.POST)
        # The API's budget (look-ups and registrations together): a registration answers
        # whether a number is registered, so the page may not be used to enumerate either.
        if not IdentityNumberThrottle().allow(request, "register"):
            form.add_error(None, refused_message())
            return self.render_form(form, status=429)
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
        patient = self.patient(pk)
        return self.render_form(self.form(instance=patient), patient)

    def post(self, request, pk, *args, **kwargs):
        patient = self.patient(pk)
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
        patient = self.patient(pk)
        services.patient_viewed(actor=request.user, patient=patient, channel="web")
        return self.render_record(patient, revealed=None)

    def post(self, request, pk, *args, **kwargs):
        patient = self.patient(pk)
        number = services.patient_id_number_revealed(
            actor=request.user, patient=patient, channel="web"
        )
        return self.render_record(patient, revealed=number)

    def render_record(self, patient, revealed: str | None) -> HttpResponse:
        user = self.request.user
        # The referrals and exam orders come from the apps that own them (alliance.panels).
        return render(
            self.request,
            self.template_name,
            {
                "patient": patient,
                "revealed": revealed,
                "panels": panels_for(user, patient),
                "may_change": user.has_perm("alliance.change_patient"),
            },
        )
