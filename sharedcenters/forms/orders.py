"""Placing a diagnostic order and acting on it: schedule, reject, cancel, report, amend."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alliance.models import Patient

from ..choices import Priority, RejectionReason, ResultFlag
from ..models import ImagingSlot, ServiceItem, SharedCenter
from ..selectors import places_for
from .common import textarea


class ItemChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, item: ServiceItem) -> str:
        return _("%(code)s %(name)s · ¥%(price)s · routine %(routine)s h, urgent %(urgent)s h") % {
            "code": item.code,
            "name": item.name,
            "price": item.price,
            "routine": item.tat_routine_hours.normalize(),
            "urgent": item.tat_urgent_hours.normalize(),
        }


class PatientChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, patient: Patient) -> str:
        return (
            f"{patient.name} · {patient.get_gender_display()} · {patient.birth_date:%Y} · "
            f"{patient.masked_id_number}"
        )


class OrderForm(forms.Form):
    """New order. The center comes from the page's first step (`?center=`), so the items
    offered are that center's catalog; the service checks everything again."""

    center = forms.ModelChoiceField(
        label=_("center"), queryset=SharedCenter.objects.none(), widget=forms.HiddenInput
    )
    patient = PatientChoiceField(label=_("patient"), queryset=Patient.objects.none())
    items = ItemChoiceField(
        label=_("items"),
        queryset=ServiceItem.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one item.")},
    )
    priority = forms.ChoiceField(
        label=_("priority"),
        choices=Priority.choices,
        initial=Priority.ROUTINE,
        widget=forms.RadioSelect,
    )
    clinical_info = forms.CharField(
        label=_("clinical information"),
        required=False,
        widget=textarea(3),
        help_text=_("Symptoms, working diagnosis and what the exam should answer."),
    )
    referral = forms.ModelChoiceField(
        label=_("referral"),
        required=False,
        queryset=None,
        empty_label=_("None"),
        help_text=_("A referred patient is booked through the alliance green channel."),
    )

    def __init__(self, *args, centers, patients, items, referrals, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["center"].queryset = centers
        self.fields["patient"].queryset = patients
        self.fields["items"].queryset = items
        self.fields["referral"].queryset = referrals
        self.fields["referral"].label_from_instance = lambda r: (
            f"{r.number} · {r.get_status_display()} · {r.to_institution.display_name}"
        )


class NoteForm(forms.Form):
    note = forms.CharField(label=_("note"), required=False, widget=textarea(2))


class RejectForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("reason"),
        choices=[("", "—"), *RejectionReason.choices],
        error_messages={"required": _("Choose a rejection reason.")},
    )
    note = forms.CharField(label=_("details"), required=False, widget=textarea(2))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("reason"), widget=textarea(2))


class SlotChoiceField(forms.ModelChoiceField):
    """Slots annotated by `with_bookings()`; the label shows the places this order may take."""

    priority_channel = False
    default_error_messages = {
        "invalid_choice": _("This slot is no longer available; choose another time."),
    }

    def label_from_instance(self, slot: ImagingSlot) -> str:
        start = timezone.localtime(slot.starts_at)
        end = timezone.localtime(slot.ends_at)
        return _("%(day)s %(start)s–%(end)s · %(free)d free") % {
            "day": f"{start:%Y-%m-%d}",
            "start": f"{start:%H:%M}",
            "end": f"{end:%H:%M}",
            "free": places_for(slot, self.priority_channel),
        }


class ScheduleForm(forms.Form):
    slot = SlotChoiceField(label=_("appointment slot"), queryset=ImagingSlot.objects.none())
    note = forms.CharField(label=_("note"), required=False)

    def __init__(self, *args, slots, priority_channel: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].queryset = slots
        self.fields["slot"].priority_channel = priority_channel
        if priority_channel:
            self.fields["slot"].help_text = _(
                "Green channel: the places reserved for the alliance are open to this patient."
            )


class ReportForm(forms.Form):
    """Imaging and ECG report."""

    findings = forms.CharField(label=_("findings"), required=False, widget=textarea(4))
    impression = forms.CharField(label=_("impression"), widget=textarea(3))
    critical = forms.BooleanField(label=_("critical value"), required=False)
    critical_note = forms.CharField(
        label=_("critical value details"),
        required=False,
        widget=textarea(2),
        help_text=_("Sent at once to the ordering department and its on-duty phone."),
    )


class LabReportForm(forms.Form):
    """The lab report beside its result rows: a comment, and what the critical value is."""

    impression = forms.CharField(label=_("comment"), required=False, widget=textarea(2))
    critical_note = forms.CharField(
        label=_("critical value details"),
        required=False,
        widget=textarea(2),
        help_text=_("A row flagged critical alerts the ordering department at once."),
    )


class ResultForm(forms.Form):
    analyte = forms.CharField(label=_("analyte"), max_length=80)
    value = forms.CharField(label=_("value"), max_length=40)
    unit = forms.CharField(label=_("unit"), max_length=20, required=False)
    reference_range = forms.CharField(label=_("reference range"), max_length=40, required=False)
    flag = forms.ChoiceField(label=_("flag"), choices=ResultFlag.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A row of a table: no labels on screen, so each input names itself.
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.update({"class": f"{css} {css}-sm", "aria-label": field.label})
            if css == "form-control":  # on a phone the column headings are hidden
                field.widget.attrs["placeholder"] = field.label


def result_formset(*, data=None, rows: int = 6, initial=None) -> forms.BaseFormSet:
    """Blank result rows (unfilled ones are skipped); `rows` more when a panel has many. An
    amendment starts from the current results (`initial`) and a blank row or two."""
    extra = rows if initial is None else 2
    formset_class = forms.formset_factory(ResultForm, extra=extra, max_num=60, absolute_max=60)
    if initial is not None and data is not None:
        # Posted, every row stands on its own: a row emptied by the amendment is left out.
        return formset_class(data, prefix="results", form_kwargs={"empty_permitted": True})
    return formset_class(data, prefix="results", initial=initial)


class AmendReasonMixin(forms.Form):
    reason = forms.CharField(
        label=_("reason for the amendment"),
        widget=textarea(2),
        help_text=_("Kept with the report it replaces; the ordering department reads it."),
        error_messages={"required": _("Give the reason for amending the report.")},
    )


class LabAmendForm(LabReportForm, AmendReasonMixin):
    """The corrected lab report and why; the earlier one is kept."""


class AmendForm(ReportForm, AmendReasonMixin):
    """The corrected imaging or ECG report and why; the earlier one is kept."""
