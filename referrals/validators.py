import re

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from alliance.models import Department, Institution

# ICD-10 category (I21), subcategory (I21.0) and the Chinese national extension (I21.900X001).
ICD10_RE = re.compile(r"^[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4}(X\d{3})?)?$")


def validate_icd10(value: str) -> None:
    if not ICD10_RE.match(value):
        raise ValidationError(
            _("Enter an ICD-10 code such as I21.9 or I21.900X001."), code="invalid_icd10"
        )


# --- what a referral may name: the rules shared by the service and the API's fields ----------


def referral_targets(source: Institution) -> QuerySet[Institution]:
    """Where a referral from `source` may go: the active institutions of its alliances (the
    service also refuses `source` itself, with its own message). A station or sub-centre
    belongs to the alliances of its centre."""
    return Institution.objects.in_alliances_of(source.tree_root.pk).filter(is_active=True)


def receiving_departments(target: Institution) -> QuerySet[Department]:
    """The departments of the receiving institution that take referrals."""
    return Department.objects.filter(institution=target, accepts_referrals=True, is_active=True)


def sending_departments(source: Institution) -> QuerySet[Department]:
    """The departments a referral from `source` may come from: its own."""
    return Department.objects.filter(institution=source)


DEPARTMENT_ELSEWHERE = _("The department belongs to another institution.")


def check_sending_department(source: Institution, department: Department | None) -> None:
    if department is not None and not sending_departments(source).filter(pk=department.pk).exists():
        raise ValidationError({"from_department": DEPARTMENT_ELSEWHERE})
