"""Validators for codes and identity numbers; messages are translated for the Chinese UI."""

import datetime
import functools
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum import numdb
from stdnum.cn import ric, uscc

from .choices import DERIVED_TYPES, IdType

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


# The oldest resident the registry accepts: a birth date further back is a typing error.
MAX_AGE_YEARS = 120
DIGITS17 = re.compile(r"^\d{17}[\dX]$")
HMT_REGIONS = ("810000", "820000", "830000")  # Hong Kong, Macao, Taiwan residence permits
PASSPORT_RE = re.compile(r"^[A-Z0-9]{5,17}$")


@functools.cache
def region_code_known(region: str) -> bool:
    """Whether GB/T 2260 has had this county-level code at any time (python-stdnum's history).

    A number keeps the code of the office that issued it for life, so a code abolished since
    (南汇县 310225, 卢湾区 310103 ...) is as valid as today's, whatever the holder's birth year.
    """
    parts = numdb.get("cn/loc").info(region)
    return len(parts) == 2 and "province" in parts[0][1] and "county" in parts[1][1]


def _birth_date(number: str) -> datetime.date:
    """The birth date in positions 7-14, which must be a real date, not in the future and at
    most MAX_AGE_YEARS ago."""
    try:
        born = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise ValidationError(
            _("The birth date in this identity number (%(digits)s) is not a real date."),
            code="invalid_birth_date",
            params={"digits": number[6:14]},
        ) from exc
    today = timezone.localdate()
    if born > today:
        raise ValidationError(
            _("The birth date in this identity number is in the future."), code="future_birth"
        )
    if born.year < today.year - MAX_AGE_YEARS:
        raise ValidationError(
            _("The birth date in this identity number is more than %(years)d years ago."),
            code="too_old",
            params={"years": MAX_AGE_YEARS},
        )
    return born


def _check_gb11643(number: str, name) -> None:
    """18 characters, 17 digits and the ISO 7064 MOD 11-2 check digit of GB 11643."""
    if not DIGITS17.match(number):
        raise ValidationError(
            _("Enter a valid 18-character %(document)s number: 17 digits and a check digit."),
            code="invalid_id_number",
            params={"document": name},
        )
    if ric.calc_check_digit(number) != number[-1]:
        raise ValidationError(
            _("The check digit of this identity number is wrong."), code="invalid_checksum"
        )


def validate_document_number(value: str, id_type: str) -> None:
    """A document number of its type: the 18-digit ones by check digit, issuing region and birth
    date, a passport by its characters; a resident without a document has no number."""
    number = normalize_id_number(value)
    label = IdType(id_type).label if id_type in IdType.values else id_type
    if id_type == IdType.NONE:
        if number:
            raise ValidationError(
                _("A resident without a document has no document number: choose its type."),
                code="number_without_document",
            )
        return
    if not number:
        raise ValidationError(_("Enter the document number."), code="required")
    if id_type == IdType.PASSPORT:
        if not PASSPORT_RE.match(number):
            raise ValidationError(
                _("A passport number is 5 to 17 letters and digits."), code="invalid_passport"
            )
        return
    _check_gb11643(number, label)
    region = number[:6]
    if id_type == IdType.RESIDENT:
        if not region_code_known(region) or region.startswith(("71", "81", "82", "83", "9")):
            raise ValidationError(
                _("%(region)s is not an administrative division code (GB/T 2260) of any time."),
                code="invalid_region",
                params={"region": region},
            )
    elif id_type == IdType.HMT_RESIDENCE:
        if region not in HMT_REGIONS:
            raise ValidationError(
                _(
                    "A residence permit for Hong Kong, Macao and Taiwan residents starts with "
                    "810000, 820000 or 830000."
                ),
                code="invalid_region",
            )
    elif id_type == IdType.FOREIGN_PERMANENT:
        if not number.startswith("9"):
            raise ValidationError(
                _("A foreigner's permanent residence card number of 18 digits starts with 9."),
                code="invalid_region",
            )
    else:
        raise ValidationError(_("Unknown document type."), code="invalid_type")
    _birth_date(number)


def validate_id_number(value: str) -> None:
    """Resident identity card number: 18 characters, region, birth date and check digit."""
    validate_document_number(value, IdType.RESIDENT)


def derives_from_number(id_type: str) -> bool:
    """Whether sex and birth date are written in numbers of this type (GB 11643 layout)."""
    return id_type in DERIVED_TYPES


def birth_date_from_id_number(value: str) -> datetime.date:
    number = normalize_id_number(value)
    return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


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
    """310115********1234: region and last four only, as lists and APIs show it; a shorter
    number (a passport's) keeps its first two and last two characters."""
    if not value:
        return ""
    if len(value) < 10:
        return (
            f"{value[:2]}{'*' * (len(value) - 4)}{value[-2:]}"
            if len(value) >= 7
            else "*" * len(value)
        )
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def mask_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) <= 7:
        return value[:2] + "*" * (len(value) - 2)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"
