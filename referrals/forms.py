from django import forms
from django.utils.translation import gettext_lazy as _

from alliance.models import Department, Institution, Patient

from .choices import Direction, ExamType, Outcome, RejectReason, Service, Urgency
from .services import direction_between


def show_direction(field: forms.ModelChoiceField, source) -> None:
    """No choice of direction anywhere: it follows from the two institutions, so each target
    is shown with the direction a referral to it has (上转, 平转, 内部转诊 ...)."""
    if source is not None:
        field.label_from_instance = lambda target: (
            f"{target} · {Direction(direction_between(source, target)).label}"
        )


class ReferralForm(forms.Form):
    """The community doctor's 'new referral' form; the service does the real checks."""

    patient = forms.ModelChoiceField(label=_("patient"), queryset=Patient.objects.none())
    to_institution = forms.ModelChoiceField(
        label=_("to institution"), queryset=Institution.objects.none()
    )
    to_department = forms.ModelChoiceField(
        label=_("to department"), queryset=Department.objects.none(), required=False
    )
    urgency = forms.ChoiceField(
        label=_("urgency"), choices=Urgency.choices, initial=Urgency.ROUTINE
    )
    service = forms.ChoiceField(label=_("requested service"), choices=Service.choices)
    exam_type = forms.ChoiceField(
        label=_("examination"), choices=[("", "—"), *ExamType.choices], required=False
    )
    diagnosis_code = forms.CharField(label=_("diagnosis (ICD-10)"), max_length=16)
    diagnosis_text = forms.CharField(label=_("diagnosis"), max_length=200)
    reason = forms.CharField(
        label=_("reason for referral"), widget=forms.Textarea(attrs={"rows": 2})
    )
    clinical_summary = forms.CharField(
        label=_("clinical summary"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    consent = forms.BooleanField(label=_("patient consent recorded"), required=False)
    submit_now = forms.BooleanField(label=_("submit now"), required=False, initial=True)

    def __init__(self, *args, patients, institutions, source=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients
        self.fields["to_institution"].queryset = institutions
        show_direction(self.fields["to_institution"], source)
        self.fields["to_department"].queryset = Department.objects.filter(
            institution__in=institutions, accepts_referrals=True, is_active=True
        ).select_related("institution")
        self.fields["to_department"].label_from_instance = lambda d: str(d)


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RequestInfoForm(forms.Form):
    note = forms.CharField(label=_("information needed"), widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    reason_code = forms.ChoiceField(label=_("reason"), choices=RejectReason.choices)
    reason = forms.CharField(
        label=_("details"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self):
        data = super().clean()
        label = RejectReason(data.get("reason_code", RejectReason.OTHER)).label
        details = data.get("reason", "").strip()
        data["reason"] = f"{label}：{details}" if details else str(label)
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))


class RedirectForm(forms.Form):
    to_institution = forms.ModelChoiceField(
        label=_("to institution"), queryset=Institution.objects.none()
    )
    to_department = forms.ModelChoiceField(
        label=_("to department"), queryset=Department.objects.none(), required=False
    )
    note = forms.CharField(label=_("note"), required=False)

    def __init__(self, *args, institutions, source=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_institution"].queryset = institutions
        show_direction(self.fields["to_institution"], source)
        self.fields["to_department"].queryset = Department.objects.filter(
            institution__in=institutions, accepts_referrals=True, is_active=True
        ).select_related("institution")
        self.fields["to_department"].label_from_instance = lambda d: str(d)


class ScheduleForm(forms.Form):
    appointment_at = forms.DateTimeField(
        label=_("appointment"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    place = forms.CharField(label=_("place"), max_length=200)
    note = forms.CharField(label=_("note"), required=False)


class CompleteForm(forms.Form):
    outcome = forms.ChoiceField(label=_("outcome"), choices=Outcome.choices)
    summary = forms.CharField(label=_("outcome summary"), widget=forms.Textarea(attrs={"rows": 3}))
    follow_up_plan = forms.CharField(
        label=_("follow-up plan"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ResponseLimitsForm(forms.Form):
    """Per urgency: minutes to respond, and further minutes before an unanswered one expires."""

    def __init__(self, *args, current: dict[str, tuple[int, int]], **kwargs):
        super().__init__(*args, **kwargs)
        for urgency, label in Urgency.choices:
            minutes, expire_after = current[urgency]
            self.fields[f"{urgency}_minutes"] = forms.IntegerField(
                label=_("%(urgency)s: minutes to respond") % {"urgency": label},
                min_value=1,
                max_value=30 * 24 * 60,
                initial=minutes,
            )
            self.fields[f"{urgency}_expire"] = forms.IntegerField(
                label=_("%(urgency)s: further minutes before expiry") % {"urgency": label},
                min_value=1,
                max_value=90 * 24 * 60,
                initial=expire_after,
            )

    def limits(self) -> dict[str, tuple[int, int]]:
        data = self.cleaned_data
        return {u: (data[f"{u}_minutes"], data[f"{u}_expire"]) for u in Urgency.values}
