"""Base classes of the alliance pages: row visibility and the posted patient search."""

from django.contrib.auth.mixins import LoginRequiredMixin


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
