"""The filters of the shared centers' lists and boards."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.forms import FilterForm

from ..models import SharedCenter
from .common import DATE


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
