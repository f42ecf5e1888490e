"""The members' requests for sterile packages and their dispatch."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import MAX_REQUEST_QUANTITY, InstrumentSet, SharedCenter
from .common import DATE, textarea


class SupplyRequestForm(forms.Form):
    """A member's request: the center, when it is needed, a note; the sets are the rows below."""

    center = forms.ModelChoiceField(
        label=_("sterilization supply center"), queryset=SharedCenter.objects.none()
    )
    needed_by = forms.DateField(label=_("needed by"), required=False, widget=DATE)
    note = forms.CharField(label=_("note"), required=False, widget=textarea(2))

    def __init__(self, *args, centers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = centers
        if len(centers) == 1:
            self.fields["center"].initial = centers[0].pk


def set_label(instrument_set: InstrumentSet) -> str:
    return f"{instrument_set.code} {instrument_set.name} · {instrument_set.center.name}"


class SupplyRequestLineForm(forms.Form):
    """One row: a set and how many. A blank row is skipped."""

    instrument_set = forms.ModelChoiceField(
        label=_("instrument set"), queryset=InstrumentSet.objects.none(), required=False
    )
    quantity = forms.IntegerField(
        label=_("quantity"), required=False, min_value=1, max_value=MAX_REQUEST_QUANTITY
    )

    def __init__(self, *args, sets, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instrument_set"].queryset = sets
        self.fields["instrument_set"].choices = choices  # listed once for every row
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.update({"class": css, "aria-label": field.label})

    def clean(self):
        data = super().clean()
        instrument_set, quantity = data.get("instrument_set"), data.get("quantity")
        if instrument_set and quantity is None and "quantity" not in self.errors:
            self.add_error("quantity", _("How many?"))
        elif quantity is not None and not instrument_set and "instrument_set" not in self.errors:
            self.add_error("instrument_set", _("Choose the set."))
        return data


class BaseSupplyLineFormSet(forms.BaseFormSet):
    def lines(self) -> list[tuple[InstrumentSet, int]]:
        """The filled rows of a valid formset, in the order typed."""
        return [
            (row.cleaned_data["instrument_set"], row.cleaned_data["quantity"])
            for row in self.forms
            if row.cleaned_data.get("instrument_set")
        ]


def supply_line_formset(*, sets, data=None, rows: int = 5) -> BaseSupplyLineFormSet:
    """Rows of set and quantity; the sets are read once, not once a row."""
    choices = [("", "—"), *((kit.pk, set_label(kit)) for kit in sets)]
    formset_class = forms.formset_factory(
        SupplyRequestLineForm,
        formset=BaseSupplyLineFormSet,
        extra=rows,
        max_num=20,
        absolute_max=20,
    )
    return formset_class(data, prefix="lines", form_kwargs={"sets": sets, "choices": choices})


class SupplyDispatchForm(forms.Form):
    """The center's scan box on a request: the packages sent against it."""

    barcodes = forms.CharField(
        label=_("barcodes"),
        widget=forms.Textarea(attrs={"rows": 5, "autofocus": True, "spellcheck": "false"}),
        help_text=_("One barcode per line: stored packages of the sets still waited for."),
    )
    note = forms.CharField(label=_("note"), required=False)

    def clean_barcodes(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["barcodes"].splitlines()]
