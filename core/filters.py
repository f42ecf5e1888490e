"""One FilterSet per list, shared by its page and its API endpoint.

The API viewset names it as `filterset_class` (django-filter's DRF backend: an invalid value is
a 400 naming the field); the page puts `FilteredListMixin` before its restricted base and names
the same class, so both accept the same parameters and return the same rows. On a page an invalid
field shows its error on the form and is left out; the valid fields still apply.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from core.forms import FilterForm


class FilterSet(django_filters.FilterSet):
    """A FilterSet whose form is a `core.forms.FilterForm` (Bootstrap classes on every widget),
    so a page renders its fields as they are."""

    def get_form_class(self) -> type[forms.Form]:
        form_class = super().get_form_class()
        if issubclass(form_class, FilterForm):
            return form_class
        return type(form_class.__name__, (FilterForm, form_class), {})


class OneChoiceSelect(forms.Select):
    """A single dropdown ("All" first) for a multiple-choice filter: a page picks one value, an
    API client may repeat the parameter (`?status=a&status=b`)."""

    def value_from_datadict(self, data, files, name) -> list[str]:
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        return [v for v in values if v not in (None, "")]

    def optgroups(self, name, value, attrs=None):
        groups = super().optgroups(name, value, attrs)
        blank = self.create_option(name, "", _("All"), not any(value), 0, attrs=attrs)
        return [(None, [blank], 0), *groups]


class CheckboxFilterInput(forms.CheckboxInput):
    """A checkbox for a yes-or-no filter: the page's box sends `on`, an API client `true`/`1`
    or `false`/`0`; absent or anything else does not filter."""

    VALUES = {"on": True, "true": True, "1": True, "false": False, "0": False}

    def value_from_datadict(self, data, files, name) -> bool | None:
        value = data.get(name)
        return self.VALUES.get(value.lower()) if isinstance(value, str) else None


class FilteredListMixin:
    """A list page filtered by `filterset_class` over its `get_queryset()` (restricted by the
    page's base): `filter` in the context is the FilterSet, `filter.form` its form. Put it
    before the page's access mixin; the list's rows in `object_list` are the filtered ones."""

    filterset_class: type[django_filters.FilterSet]
    # The fields the page's form shows as inputs, each with its own error; the errors of the
    # others (a tab's status, a parameter of the address) are listed above the list.
    filter_inputs: tuple[str, ...] = ()

    def get_filter_choices(self, queryset: QuerySet) -> dict[str, QuerySet]:
        """The rows a model-choice field of the page's form offers, where narrower than what the
        filter accepts (the user's centers rather than every center); `queryset` is the list's
        unfiltered rows. An id outside them is a field error on the page."""
        return {}

    def filter_rows(self, queryset: QuerySet) -> QuerySet:
        filterset = self.filterset_class(
            self.request.GET or None, queryset=queryset, request=self.request
        )
        for name, rows in self.get_filter_choices(queryset).items():
            filterset.form.fields[name].queryset = rows
        self.filterset = filterset
        return filterset.qs

    @property
    def filter_values(self) -> dict[str, Any]:
        """The valid fields' values, empty ones left out (what the rows were filtered by)."""
        form = self.filterset.form
        form.is_valid()
        return {
            k: v for k, v in getattr(form, "cleaned_data", {}).items() if v not in ("", None, [])
        }

    def counts_by(self, field: str) -> dict[Any, int]:
        """The unfiltered rows (the user's, restricted) counted by `field`: a page's tabs."""
        rows = self.filterset.queryset.order_by().values(field).annotate(n=Count("pk"))
        return dict(rows.values_list(field, "n"))

    def get_context_data(self, **kwargs):
        if "object_list" not in kwargs:
            self.object_list = self.filter_rows(self.object_list)
            kwargs["object_list"] = self.object_list
        kwargs.setdefault("filter", self.filterset)
        kwargs.setdefault(
            "filter_errors",
            [
                (self.filterset.form[name].label, error)
                for name, errors in self.filterset.form.errors.items()
                if name not in self.filter_inputs
                for error in errors
            ],
        )
        return super().get_context_data(**kwargs)
