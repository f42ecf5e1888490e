"""Forms of the alliance app's own pages: patient records, two-factor enrolment and verification."""

from __future__ import annotations

from axes.helpers import get_client_ip_address
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.backends import address_is_refused

from .choices import IdType
from .models import Department, Institution, Patient


class OneTimeCodeField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", _("Six-digit code"))
        kwargs.setdefault("max_length", 6)
        kwargs.setdefault("min_length", 6)
        super().__init__(**kwargs)

    def to_python(self, value):
        # Authenticator apps show "123 456": spaces are not part of the code.
        return "".join((super().to_python(value) or "").split())

    def validate(self, value) -> None:
        super().validate(value)
        if not value.isdigit():
            raise forms.ValidationError(_("The code is six digits."), code="invalid")


class LoginForm(AuthenticationForm):
    """The sign-in form. The backends decide; this only says plainly when it is the address that
    is refused (many failures over any usernames), not the password, so that staff behind one
    hospital address know to wait rather than to retry."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError as error:
            address = get_client_ip_address(self.request) if self.request is not None else None
            if error.code == "invalid_login" and address_is_refused(address):
                raise ValidationError(
                    _(
                        "Too many failed sign-ins from your network address. Sign-ins from it "
                        "are paused for up to %(minutes)s minutes; try again later or ask the "
                        "alliance office."
                    ),
                    code="address_refused",
                    params={"minutes": settings.LOGIN_ADDRESS_WINDOW_MINUTES},
                ) from error
            raise


class TwoFactorSetupForm(forms.Form):
    """Turning two-factor sign-in on asks for the password and a first code from the app."""

    password = forms.CharField(label=_("Current password"), strip=False)
    code = OneTimeCodeField()

    def __init__(self, *args, user, device: TOTPDevice, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user, self.device = user, device

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("The password is not correct."), code="password")
        return password

    def clean(self):
        cleaned = super().clean()
        code = cleaned.get("code")
        if code and "password" in cleaned and not self.device.verify_token(code):
            self.add_error("code", _("The code is not correct or has expired; try the next one."))
        return cleaned


class TwoFactorVerifyForm(forms.Form):
    code = OneTimeCodeField()

    def __init__(self, *args, device: TOTPDevice, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if not self.device.verify_token(code):
            raise forms.ValidationError(
                _("The code is not correct or has expired; try the next one."), code="token"
            )
        return code


class TwoFactorDisableForm(forms.Form):
    password = forms.CharField(label=_("Current password"), strip=False)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("The password is not correct."), code="password")
        return password


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's field errors on the form's fields; any other key as a form error."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, messages in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


class DateInput(forms.DateInput):
    input_type = "date"


class PatientForm(forms.ModelForm):
    """Register a resident, or change the record (without the identity number: a wrong number
    is corrected through the API's audited path, never shown in a form)."""

    class Meta:
        model = Patient
        fields = [
            "name",
            "id_type",
            "id_number",
            "gender",
            "birth_date",
            "phone",
            "address",
            "home_institution",
            "signed",
            "signing_institution",
            "signed_on",
        ]
        widgets = {
            "birth_date": DateInput(),
            "signed_on": DateInput(),
            # A text column (it holds the ciphertext), but an 18-character number to the user.
            "id_number": forms.TextInput(attrs={"maxlength": 24, "class": "num"}),
        }
        labels = {"id_number": _("Document number")}
        help_texts = {
            "id_number": _("Leave empty only for a resident without a document."),
            "gender": _(
                "Filled in from an 18-digit number; give it for a passport or no document."
            ),
            "birth_date": _(
                "Filled in from an 18-digit number; give it for a passport or no document."
            ),
        }

    def __init__(self, *args, institutions, signing_institutions, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["home_institution"].queryset = institutions
        current = self.instance.signing_institution_id if self.instance.pk else None
        if current is not None:
            # A signature already there is kept, not made anew: as the API and the service.
            signing_institutions = signing_institutions | Institution.objects.filter(pk=current)
        self.fields["signing_institution"].queryset = signing_institutions
        if self.instance.pk:
            del self.fields["id_number"]
            del self.fields["id_type"]
        else:
            # As in the API: a number without a type is a resident identity card's.
            self.fields["id_type"].required = False

    def clean_id_type(self) -> str:
        return self.cleaned_data.get("id_type") or IdType.RESIDENT

    def _post_clean(self) -> None:
        # The service validates the record as a whole (model validators, the number's
        # uniqueness through its keyed hash) and its errors land on these fields.
        pass


class ContactCardForm(forms.ModelForm):
    """One department's contact card on the institution's contact-card page."""

    class Meta:
        model = Department
        fields = [
            "name",
            "specialty",
            "phone",
            "on_duty_phone",
            "head",
            "accepts_referrals",
            "is_active",
        ]

    def _post_clean(self) -> None:
        # The service validates the record (and its uniqueness) and reports on these fields.
        pass


ContactCardFormSet = forms.modelformset_factory(
    Department, form=ContactCardForm, extra=1, can_delete=False, max_num=200, validate_max=True
)


class PersonalTokenForm(forms.Form):
    """A personal access token's name (alliance/tokens.py)."""

    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What will use it, e.g. “weekly export script”."),
    )


class MachineTokenForm(forms.Form):
    """A machine token for a member institution's system (alliance/tokens.py)."""

    name = forms.CharField(
        label=_("System"), max_length=100, help_text=_("The system that will use it, e.g. “HIS”.")
    )
    institution = forms.ModelChoiceField(
        label=_("Institution"),
        queryset=Institution.objects.none(),
        help_text=_(
            "The system acts as staff of this institution: hospital staff for a hospital, "
            "community staff for primary care."
        ),
    )

    def __init__(self, *args, institutions, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions
