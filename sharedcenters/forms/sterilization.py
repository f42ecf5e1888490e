"""Sterilization: moving and registering packages, starting cycles, results, recalls."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from alliance.models import Institution

from ..choices import IndicatorResult, PackageAction, SterilizationMethod
from ..models import InstrumentSet, SharedCenter, SterilizationCycle
from .common import textarea


class PackageMoveForm(forms.Form):
    """One batch scan: a barcode per line (a scanner types each one and Enter)."""

    barcodes = forms.CharField(
        label=_("barcodes"),
        widget=forms.Textarea(attrs={"rows": 6, "autofocus": True, "spellcheck": "false"}),
        help_text=_("One barcode per line; scan them one after another."),
    )
    action = forms.ChoiceField(label=_("step"), choices=())
    cycle = forms.ModelChoiceField(
        label=_("sterilization cycle"),
        required=False,
        queryset=SterilizationCycle.objects.none(),
        help_text=_("For “load into a cycle”: a running cycle of the center."),
    )
    patient_id_number = forms.CharField(
        label=_("patient identity number"),
        required=False,
        max_length=18,
        help_text=_("For “use”: the patient the instruments were used on."),
    )
    procedure = forms.CharField(label=_("procedure"), required=False, max_length=120)
    note = forms.CharField(label=_("note"), required=False)

    def __init__(self, *args, actions: list[str], cycles, patients, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [(a, PackageAction(a).label) for a in actions]
        self.fields["cycle"].queryset = cycles
        self.patients = patients

    def clean_barcodes(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["barcodes"].splitlines()]

    def clean(self):
        data = super().clean()
        self.patient = None
        id_number = data.get("patient_id_number", "").strip().upper()
        if data.get("action") == PackageAction.USE:
            if not id_number:
                self.add_error("patient_id_number", _("Enter the patient's identity number."))
            else:
                self.patient = self.patients.with_id_number(id_number).first()
                if self.patient is None:
                    self.add_error("patient_id_number", _("Patient not found."))
        return data


class PackageRegisterForm(forms.Form):
    barcode = forms.CharField(label=_("barcode"), max_length=40)
    instrument_set = forms.ModelChoiceField(
        label=_("instrument set"), queryset=InstrumentSet.objects.none()
    )
    owner = forms.ModelChoiceField(
        label=_("member institution"), queryset=Institution.objects.none()
    )

    def __init__(self, *args, sets, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instrument_set"].queryset = sets
        self.fields["owner"].queryset = owners


class CycleStartForm(forms.Form):
    center = forms.ModelChoiceField(label=_("center"), queryset=SharedCenter.objects.none())
    sterilizer = forms.CharField(label=_("sterilizer"), max_length=40)
    cycle_number = forms.CharField(label=_("cycle number"), max_length=40)
    method = forms.ChoiceField(label=_("method"), choices=SterilizationMethod.choices)

    def __init__(self, *args, centers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = centers
        if len(centers) == 1:
            self.fields["center"].initial = centers[0].pk


class CycleResultsForm(forms.Form):
    physical = forms.ChoiceField(label=_("physical indicator"), choices=IndicatorResult.choices)
    chemical = forms.ChoiceField(label=_("chemical indicator"), choices=IndicatorResult.choices)
    biological = forms.ChoiceField(label=_("biological indicator"), choices=IndicatorResult.choices)


class RecallForm(forms.Form):
    reason = forms.CharField(label=_("recall reason"), widget=textarea(2))
