"""Validators for codes and identity numbers; messages are translated for the Chinese UI."""

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

INTERNAL_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def validate_institution_code(value: str) -> None:
    """An 18-character code is a unified social credit code and must pass its check digit;
    any other code is an internal code of 2-32 upper-case letters, digits and hyphens."""
    if len(value) == 18:
        try:
            uscc.validate(value)
        except stdnum_errors.ValidationError as exc:
            raise ValidationError(
                _("%(value)s is not a valid unified social credit code (check digit or format)."),
                code="invalid_uscc",
                params={"value": value},
            ) from exc
    elif not INTERNAL_CODE_RE.match(value):
        raise ValidationError(
            _(
                "An institution code is either an 18-character unified social credit code or "
                "2-32 upper-case letters, digits and hyphens."
            ),
            code="invalid_code",
        )


def normalize_id_number(value: str) -> str:
    return value.strip().replace(" ", "").upper()


def validate_id_number(value: str) -> None:
    """Resident identity card number: 18 characters, region, birth date and check digit."""
    number = normalize_id_number(value)
    try:
        ric.validate(number)
    except stdnum_errors.InvalidChecksum as exc:
        raise ValidationError(
            _("The check digit of this identity number is wrong."), code="invalid_checksum"
        ) from exc
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(
            _("Enter a valid 18-character resident identity number."), code="invalid_id_number"
        ) from exc
    if ric.get_birth_date(number) > timezone.localdate():
        raise ValidationError(
            _("The birth date in this identity number is in the future."), code="future_birth"
        )


def birth_date_from_id_number(value: str) -> datetime.date:
    return ric.get_birth_date(normalize_id_number(value))


def gender_from_id_number(value: str) -> str:
    # The 17th digit is odd for men, even for women (GB 11643).
    return "male" if int(normalize_id_number(value)[16]) % 2 else "female"


def validate_phone(value: str) -> None:
    if not (MOBILE_RE.match(value) or LANDLINE_RE.match(value)):
        raise ValidationError(
            _("Enter an 11-digit mobile number or a landline such as 021-58000000."),
            code="invalid_phone",
        )


def mask_id_number(value: str) -> str:
    """310115********1234: region and last four only, as lists and APIs show it."""
    if not value:
        return ""
    if len(value) < 10:
        return "*" * len(value)
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def mask_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) <= 7:
        return value[:2] + "*" * (len(value) - 2)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"
