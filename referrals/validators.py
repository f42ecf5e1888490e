import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# ICD-10 category (I21), subcategory (I21.0) and the Chinese national extension (I21.900X001).
ICD10_RE = re.compile(r"^[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4}(X\d{3})?)?$")


def validate_icd10(value: str) -> None:
    if not ICD10_RE.match(value):
        raise ValidationError(
            _("Enter an ICD-10 code such as I21.9 or I21.900X001."), code="invalid_icd10"
        )
