"""The contact-card page: an institution's departments, phones and on-duty numbers, kept by its
own administrator or the alliance office."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from core.access import RestrictedMixin
from core.errors import ActionNotAllowed

from .. import selectors, services
from ..forms import ContactCardFormSet, add_service_errors

FIELDS = services.DEPARTMENT_FIELDS


class ContactCardEditView(RestrictedMixin, View):
    template_name = "alliance/contact_cards.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.institution = selectors.institution_for_user(request.user, kwargs["pk"])
        if not selectors.may_edit_contact_cards(request.user, self.institution):
            raise PermissionDenied(
                _("Only the institution's administrator or the alliance office may do this.")
            )
        return super().dispatch(request, *args, **kwargs)

    def formset(self, data=None):
        departments = self.institution.departments.order_by("-is_active", "name")
        return ContactCardFormSet(data, queryset=departments, prefix="cards")

    def get(self, request, *args, **kwargs) -> HttpResponse:
        return self.render(self.formset())

    def post(self, request, *args, **kwargs) -> HttpResponse:
        formset = self.formset(request.POST)
        if not formset.is_valid():
            return self.render(formset, status=400)
        failed = False
        try:
            # All cards or none: a refusal on one row leaves every row as it was.
            with transaction.atomic():
                for form in formset.forms:
                    if not form.has_changed():
                        continue
                    data = {name: form.cleaned_data[name] for name in FIELDS}
                    try:
                        if form.instance.pk:
                            services.department_update(
                                actor=request.user, department=form.instance, **data
                            )
                        else:
                            services.department_create(
                                actor=request.user, institution=self.institution, **data
                            )
                    except ValidationError as exc:
                        add_service_errors(form, exc)
                        failed = True
                if failed:
                    raise _Rollback
        except _Rollback:
            return self.render(formset, status=400)
        except ActionNotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        messages.success(request, _("The contact cards are saved."))
        return redirect("alliance:institution-detail", self.institution.pk)

    def render(self, formset, status: int = 200) -> HttpResponse:
        context = {
            "institution": self.institution,
            "formset": formset,
            "history": selectors.contact_card_history(self.institution),
        }
        return render(self.request, self.template_name, context, status=status)


class _Rollback(Exception):
    """Undo the rows already saved when a later row is refused."""
