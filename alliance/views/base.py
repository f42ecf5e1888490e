"""Base classes of the alliance pages: row visibility, the access log of what a page shows,
and the posted patient search."""

from django.contrib.auth.mixins import LoginRequiredMixin

from core import audit


class AuditedMixin:
    """Base of every page that shows patient data: the record it opens (`get_object`) and the
    rows of the list page it shows (`object_list`) are named in ONE access-log row per request
    (core.audit.shown; records of no patient are left out). Pages that fetch their record
    with a `*_for_user` selector are covered there."""

    def get_object(self, queryset=None):
        obj = super().get_object(queryset)
        audit.shown(obj)
        return obj

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "object_list" in context and "object" not in context:
            # The page's rows: iterating fills the queryset's cache, the template reuses it.
            audit.shown(context["object_list"])
        return context


class RestrictedMixin(AuditedMixin, LoginRequiredMixin):
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

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        picker = getattr(context.get("form"), "fields", {}).get("patient")
        if picker is not None and (self.request.method == "GET" or self.searching):
            # The picker lists patients (the latest, or a search's matches): a list view.
            audit.shown(picker.queryset)
        return context

    def post(self, request, *args, **kwargs):
        if self.searching:
            return self.render_to_response(self.get_context_data(form=self.get_form()))
        return super().post(request, *args, **kwargs)
