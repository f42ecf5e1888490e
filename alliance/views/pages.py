"""Home per role, the institution directory and detail, health, error pages."""

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView, TemplateView

from core.access import RestrictedMixin, profile_of
from core.filters import FilteredListMixin
from core.models import WorkerHeartbeat

from .. import selectors
from ..choices import Role
from ..filters import InstitutionFilter
from ..models import Institution
from ..panels import home_panels_for


class HomeView(RestrictedMixin, TemplateView):
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
                selectors.alliance_summary(alliance) for alliance in selectors.alliances_for(user)
            ]
            return context
        institution = profile.institution
        if profile.role == Role.BUREAU_VIEWER:
            context["district"] = institution.district
            context["district_summary"] = selectors.district_summary(institution.district_id)
            return context
        # Each role's work, from the apps that own it (core.registry.home_panels): counts that
        # link to the worklist or list where the work is done.
        context["panels"] = [p for p in home_panels_for(user, profile.role) if p.items or p.rows]
        context["alliances"] = [
            selectors.alliance_summary(alliance)
            for alliance in selectors.alliances_of(institution.pk)
        ]
        context["patients"] = selectors.patients_for(user)
        context["signed_patients"] = context["patients"].filter(signed=True)
        context["departments"] = institution.departments.filter(is_active=True)
        context["children"] = institution.children.filter(is_active=True)
        return context


class InstitutionDirectoryView(FilteredListMixin, RestrictedMixin, ListView):
    """The directory; its filters are the API's (InstitutionFilter)."""

    model = Institution
    filterset_class = InstitutionFilter
    template_name = "alliance/institution_list.html"
    paginate_by = 20

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
        context["may_edit_contact_cards"] = selectors.may_edit_contact_cards(
            self.request.user, self.object
        )
        return context


def health(request: HttpRequest) -> JsonResponse:
    """Liveness for operators and load balancers: database, cache and last worker heartbeat."""
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
