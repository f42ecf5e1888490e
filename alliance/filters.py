"""Filters shared by the directory page and the API (django-filter)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.choices import AccessKind
from core.filters import CheckboxFilterInput, FilterSet

from .choices import (
    NOTIFICATION_KEY_PREFIXES,
    InstitutionKind,
    NotificationKind,
    Specialty,
    Tier,
)
from .models import AccessLog, Alliance, Department, District, Institution, Notification, Patient
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


class NotificationFilter(FilterSet):
    """The inbox (/notifications/): unread only, and what the messages are about."""

    unread = django_filters.BooleanFilter(
        label=_("Unread only"), method="filter_unread", widget=CheckboxFilterInput
    )
    kind = django_filters.ChoiceFilter(
        label=_("message kind"),
        choices=NotificationKind.choices,
        method="filter_kind",
        empty_label=_("All messages"),
    )

    class Meta:
        model = Notification
        fields = ["unread", "kind"]

    def filter_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=True) if value else queryset

    def filter_kind(self, queryset, name, value):
        if value == NotificationKind.OTHER:
            others = Q()
            for prefix in NOTIFICATION_KEY_PREFIXES.values():
                others |= Q(key__startswith=prefix)
            return queryset.exclude(others)
        return queryset.filter(key__startswith=NOTIFICATION_KEY_PREFIXES[value])
