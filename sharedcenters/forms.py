"""Forms of the shared-center pages. They check shape only; the services decide what is allowed,
and their ValidationErrors are put back on these fields by the views."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alliance.models import Institution, Patient
from core.forms import FilterForm

from .choices import (
    IndicatorResult,
    PackageAction,
    Priority,
    RejectionReason,
    ResultFlag,
    SterilizationMethod,
)
from .models import (
    MAX_REQUEST_QUANTITY,
    ImagingSlot,
    InstrumentSet,
    ServiceItem,
    SharedCenter,
    SterilizationCycle,
)
from .selectors import places_for

ALL = [("", _("All"))]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _rows(n: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": n})


# --- list filters ----------------------------------------------------------------------------


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


# --- placing an order ------------------------------------------------------------------------


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
        widget=_rows(3),
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


# --- actions on an order ---------------------------------------------------------------------


class NoteForm(forms.Form):
    note = forms.CharField(label=_("note"), required=False, widget=_rows(2))


class RejectForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("reason"),
        choices=[("", "—"), *RejectionReason.choices],
        error_messages={"required": _("Choose a rejection reason.")},
    )
    note = forms.CharField(label=_("details"), required=False, widget=_rows(2))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("reason"), widget=_rows(2))


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

    findings = forms.CharField(label=_("findings"), required=False, widget=_rows(4))
    impression = forms.CharField(label=_("impression"), widget=_rows(3))
    critical = forms.BooleanField(label=_("critical value"), required=False)
    critical_note = forms.CharField(
        label=_("critical value details"),
        required=False,
        widget=_rows(2),
        help_text=_("Sent at once to the ordering department and its on-duty phone."),
    )


class LabReportForm(forms.Form):
    """The lab report beside its result rows: a comment, and what the critical value is."""

    impression = forms.CharField(label=_("comment"), required=False, widget=_rows(2))
    critical_note = forms.CharField(
        label=_("critical value details"),
        required=False,
        widget=_rows(2),
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
        widget=_rows(2),
        help_text=_("Kept with the report it replaces; the ordering department reads it."),
        error_messages={"required": _("Give the reason for amending the report.")},
    )


class LabAmendForm(LabReportForm, AmendReasonMixin):
    """The corrected lab report and why; the earlier one is kept."""


class AmendForm(ReportForm, AmendReasonMixin):
    """The corrected imaging or ECG report and why; the earlier one is kept."""


# --- sterilization ---------------------------------------------------------------------------


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
    reason = forms.CharField(label=_("recall reason"), widget=_rows(2))


# --- supply requests -------------------------------------------------------------------------


class SupplyRequestForm(forms.Form):
    """A member's request: the center, when it is needed, a note; the sets are the rows below."""

    center = forms.ModelChoiceField(
        label=_("sterilization supply center"), queryset=SharedCenter.objects.none()
    )
    needed_by = forms.DateField(label=_("needed by"), required=False, widget=DATE)
    note = forms.CharField(label=_("note"), required=False, widget=_rows(2))

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
