"""The filters of the shared centers' lists and boards."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from alliance.models import Institution
from core.forms import FilterForm

from ..choices import CycleStatus, OrderStatus, PackageStatus, Priority
from ..models import InstrumentSet, SharedCenter
from .common import ALL, DATE


class OrderFilterForm(FilterForm):
    q = forms.CharField(label=_("Search"), required=False, max_length=64)
    status = forms.ChoiceField(label=_("status"), required=False, choices=ALL + OrderStatus.choices)
    center = forms.ModelChoiceField(
        label=_("center"),
        required=False,
        queryset=SharedCenter.objects.none(),
        empty_label=_("All"),
    )
    priority = forms.ChoiceField(
        label=_("priority"), required=False, choices=ALL + Priority.choices
    )
    critical = forms.ChoiceField(
        label=_("critical value"),
        required=False,
        choices=[*ALL, ("yes", _("Critical values")), ("open", _("Not yet acknowledged"))],
    )
    ordered_from = forms.DateField(label=_("Ordered from"), required=False, widget=DATE)
    ordered_until = forms.DateField(label=_("Ordered until"), required=False, widget=DATE)

    def __init__(self, *args, centers: QuerySet[SharedCenter], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = centers

    def clean(self):
        data = super().clean()
        start, end = data.get("ordered_from"), data.get("ordered_until")
        if start and end and start > end:
            self.add_error("ordered_until", _("The end date is before the start date."))
        return data


class PackageFilterForm(FilterForm):
    q = forms.CharField(label=_("Barcode"), required=False, max_length=40)
    status = forms.ChoiceField(
        label=_("status"), required=False, choices=ALL + PackageStatus.choices
    )
    instrument_set = forms.ModelChoiceField(
        label=_("instrument set"),
        required=False,
        queryset=InstrumentSet.objects.none(),
        empty_label=_("All"),
    )
    owner = forms.ModelChoiceField(
        label=_("member institution"),
        required=False,
        queryset=Institution.objects.none(),
        empty_label=_("All"),
    )
    expiring = forms.BooleanField(label=_("Sterile until within 3 days"), required=False)

    def __init__(self, *args, sets: QuerySet, owners: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instrument_set"].queryset = sets
        self.fields["owner"].queryset = owners


class CycleFilterForm(FilterForm):
    status = forms.ChoiceField(label=_("status"), required=False, choices=ALL + CycleStatus.choices)
    started_from = forms.DateField(label=_("Started from"), required=False, widget=DATE)


class PeriodForm(FilterForm):
    """Dashboard period: whole local days, the last 30 by default."""

    date_from = forms.DateField(label=_("Start date"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("End date"), required=False, widget=DATE)
    center = forms.ModelChoiceField(
        label=_("center"),
        required=False,
        queryset=SharedCenter.objects.none(),
        empty_label=_("All"),
    )

    def __init__(self, *args, centers: QuerySet[SharedCenter], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = centers

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        elif start and end and (end - start).days > 366:
            self.add_error("date_to", _("Choose at most one year."))
        return data


class SlotBoardForm(FilterForm):
    center = forms.ModelChoiceField(label=_("center"), queryset=SharedCenter.objects.none())
    day = forms.DateField(label=_("Date"), widget=DATE)

    def __init__(self, *args, centers: QuerySet[SharedCenter], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = centers
