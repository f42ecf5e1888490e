"""Filters shared by the directory page and the API (django-filter)."""

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.choices import AccessKind

from .choices import InstitutionKind, Specialty, Tier
from .models import AccessLog, Alliance, Department, District, Institution, Patient
from .selectors import filter_by_tier, search_institutions

# A name search of the access log finds the rows of at most this many matching patients (the
# newest); each is one indexed test of the rows' patient lists.
PATIENT_SEARCH_LIMIT = 200


class InstitutionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method="filter_q", help_text=_("Name, department or specialty")
    )
    code = django_filters.CharFilter(label=_("institution code"), field_name="code")
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=InstitutionKind.choices)
    tier = django_filters.ChoiceFilter(label=_("tier"), choices=Tier.choices, method="filter_tier")
    district = django_filters.ModelChoiceFilter(
        label=_("district"), queryset=District.objects.all()
    )
    # A model choice, like district and parent: an unknown, fractional or out-of-range id is a
    # form error (400), never a query with a truncated or overflowing integer (500).
    alliance = django_filters.ModelChoiceFilter(
        label=_("alliance"), queryset=Alliance.objects.all(), method="filter_alliance"
    )

    class Meta:
        model = Institution
        fields = ["q", "code", "kind", "tier", "district", "parent", "is_active", "alliance"]

    def filter_q(self, queryset, name, value):
        return search_institutions(queryset, value)

    def filter_tier(self, queryset, name, value):
        return filter_by_tier(queryset, value)

    @extend_schema_field(OpenApiTypes.INT)
    def filter_alliance(self, queryset, name, value):
        return queryset.filter(pk__in=Institution.objects.in_alliance(value.pk).values("pk"))


class DepartmentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="filter_q")
    specialty = django_filters.ChoiceFilter(label=_("specialty"), choices=Specialty.choices)

    class Meta:
        model = Department
        fields = ["q", "institution", "specialty", "accepts_referrals", "is_active"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(name__icontains=value) | queryset.filter(
            institution__name__icontains=value
        )


class PatientFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), field_name="name", lookup_expr="icontains")

    class Meta:
        model = Patient
        fields = ["q", "home_institution", "signed", "gender"]


class AccessLogFilter(django_filters.FilterSet):
    """The security auditor's search: by user, patient, event and date range."""

    user = django_filters.CharFilter(
        label=_("User"), field_name="username", lookup_expr="icontains"
    )
    patient = django_filters.CharFilter(
        label=_("Patient"), method="filter_patient", help_text=_("Name or record number")
    )
    kind = django_filters.ChoiceFilter(label=_("Event"), choices=AccessKind.choices)
    since = django_filters.DateFilter(
        label=_("First day"), field_name="at__date", lookup_expr="gte"
    )
    until = django_filters.DateFilter(label=_("Last day"), field_name="at__date", lookup_expr="lte")

    class Meta:
        model = AccessLog
        fields = ["user", "patient", "kind", "since", "until"]

    def filter_patient(self, queryset, name, value):
        """Rows of the patient and the lists that showed them (AccessLog.patient_ids)."""
        value = value.strip()
        if value.isdigit() and len(value) <= 9:  # a record number, never an overflow
            return queryset.naming_patients([int(value)])
        named = Patient.objects.filter(name__icontains=value).order_by("-pk")
        ids = list(named.values_list("pk", flat=True)[:PATIENT_SEARCH_LIMIT])
        return queryset.naming_patients(ids)
