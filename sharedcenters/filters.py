"""List filters of the shared centers, shared by the API and the pages."""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alliance.models import Institution, Patient
from core.filters import CheckboxFilterInput, FilterSet, OneChoiceSelect

from .choices import (
    CycleStatus,
    Modality,
    OrderStatus,
    PackageStatus,
    Priority,
    SterilizationMethod,
    SupplyRequestStatus,
)
from .models import (
    ExamOrder,
    ImagingSlot,
    InstrumentSet,
    Package,
    SharedCenter,
    SterilizationCycle,
    SupplyRequest,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# Where a package may sit when its sterility date matters.
STERILE_STATES = [PackageStatus.STORED, PackageStatus.DISPATCHED, PackageStatus.RECEIVED_BY_MEMBER]
EXPIRING_DAYS = 3


def _visible_patients(request) -> QuerySet[Patient]:
    # An id the user may not see is refused like an unknown one: the filter discloses nothing.
    return Patient.objects.restrict(getattr(request, "user", None))


def _day_start(value: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(value, datetime.time.min))


def _status(choices) -> django_filters.MultipleChoiceFilter:
    """One status or several (`?status=a&status=b`); the page offers one at a time."""
    return django_filters.MultipleChoiceFilter(
        label=_("status"), choices=choices, widget=OneChoiceSelect
    )


class CriticalField(forms.ChoiceField):
    """`critical`: the page's "yes" and "open" (not yet acknowledged), the API's booleans
    (`true`/`false`, `1`/`0`, in any case)."""

    ALIASES = {"true": "yes", "1": "yes", "false": "no", "0": "no"}

    def __init__(self, **kwargs):
        kwargs["choices"] = [
            ("", _("All")),
            ("yes", _("Critical values")),
            ("open", _("Not yet acknowledged")),
        ]
        super().__init__(**kwargs)

    def to_python(self, value) -> str:
        value = super().to_python(value).strip().lower()
        return self.ALIASES.get(value, value)

    def valid_value(self, value) -> bool:
        return value == "no" or super().valid_value(value)


class CriticalFilter(django_filters.Filter):
    field_class = CriticalField

    def filter(self, qs, value):
        if value in ("yes", "open"):
            qs = qs.filter(critical=True)
            if value == "open":
                qs = qs.filter(critical_acknowledged_at__isnull=True)
        elif value == "no":
            qs = qs.filter(critical=False)
        return qs


class ExamOrderFilter(FilterSet):
    """The order list (`/centers/orders/`) and the API's orders."""

    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_q",
        help_text=_("Order number or patient name"),
    )
    status = _status(OrderStatus.choices)
    center = django_filters.ModelChoiceFilter(
        label=_("center"), queryset=SharedCenter.objects.all(), empty_label=_("All")
    )
    priority = django_filters.ChoiceFilter(
        label=_("priority"), choices=Priority.choices, empty_label=_("All")
    )
    patient = django_filters.ModelChoiceFilter(label=_("patient"), queryset=_visible_patients)
    ordering_institution = django_filters.ModelChoiceFilter(
        label=_("ordering institution"), queryset=Institution.objects.all()
    )
    # true/false for the API, and the page's "yes" and "open" (not yet acknowledged).
    critical = CriticalFilter(label=_("critical value"))
    # Two date filters rather than a range filter, so an error names the parameter the client
    # sent (`ordered_after`), as the referral list does. The page's form sends the same days
    # as `ordered_from` and `ordered_until`.
    ordered_after = django_filters.DateFilter(
        label=_("Ordered from"), field_name="ordered_at", method="filter_from"
    )
    ordered_before = django_filters.DateFilter(
        label=_("Ordered until"), field_name="ordered_at", method="filter_until"
    )
    ordered_from = django_filters.DateFilter(
        label=_("Ordered from"), field_name="ordered_at", method="filter_from", widget=DATE
    )
    ordered_until = django_filters.DateFilter(
        label=_("Ordered until"), field_name="ordered_at", method="filter_until", widget=DATE
    )

    class Meta:
        model = ExamOrder
        fields = [
            "q",
            "status",
            "center",
            "priority",
            "patient",
            "ordering_institution",
            "critical",
            "ordered_after",
            "ordered_before",
            "ordered_from",
            "ordered_until",
        ]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__iexact=value) | Q(patient__name__icontains=value))

    # Whole local days, compared with the datetime column itself so its index stays usable.
    def filter_from(self, queryset, name, value):
        return queryset.filter(**{f"{name}__gte": _day_start(value)})

    def filter_until(self, queryset, name, value):
        return queryset.filter(**{f"{name}__lt": _day_start(value + datetime.timedelta(days=1))})


class ImagingSlotFilter(FilterSet):
    center = django_filters.ModelChoiceFilter(
        label=_("center"), queryset=SharedCenter.objects.all()
    )
    modality = django_filters.ChoiceFilter(label=_("modality"), choices=Modality.choices)
    date = django_filters.DateFilter(
        label=_("Day"), method="filter_date", help_text=_("Slots starting on this local day.")
    )
    starts_after = django_filters.IsoDateTimeFilter(
        label=_("Starting from"),
        method="filter_starts_after",
        help_text=_("Also shows past slots; without it only slots yet to begin are listed."),
    )

    class Meta:
        model = ImagingSlot
        fields = ["center", "modality", "date", "starts_after"]

    def filter_starts_after(self, queryset, name, value):
        # In UTC: ISO 8601 allows offsets PostgreSQL refuses (beyond ±15:59, e.g. -21:00).
        return queryset.filter(starts_at__gte=value.astimezone(datetime.UTC))

    def filter_date(self, queryset, name, value):
        start = _day_start(value)
        return queryset.filter(
            starts_at__gte=start, starts_at__lt=_day_start(value + datetime.timedelta(days=1))
        )


class PackageFilter(FilterSet):
    """The package list (`/centers/sterilization/`) and the API's packages."""

    q = django_filters.CharFilter(
        label=_("Barcode"),
        field_name="barcode",
        lookup_expr="icontains",
    )
    status = _status(PackageStatus.choices)
    owner = django_filters.ModelChoiceFilter(
        label=_("member institution"), queryset=Institution.objects.all(), empty_label=_("All")
    )
    location = django_filters.ModelChoiceFilter(
        label=_("where it is now"), queryset=Institution.objects.all()
    )
    instrument_set = django_filters.ModelChoiceFilter(
        label=_("instrument set"), queryset=InstrumentSet.objects.all(), empty_label=_("All")
    )
    cycle = django_filters.ModelChoiceFilter(
        label=_("sterilization cycle"), queryset=SterilizationCycle.objects.all()
    )
    barcode = django_filters.CharFilter(label=_("barcode"), method="filter_barcode")
    expiring = django_filters.BooleanFilter(
        label=_("Sterile until within 3 days"),
        method="filter_expiring",
        widget=CheckboxFilterInput,
    )

    class Meta:
        model = Package
        fields = [
            "q",
            "status",
            "owner",
            "location",
            "instrument_set",
            "cycle",
            "barcode",
            "expiring",
        ]

    def filter_barcode(self, queryset, name, value):
        # Scanners may add spaces around the code; the barcode itself is exact.
        value = value.strip()
        return queryset.filter(barcode=value) if value else queryset

    def filter_expiring(self, queryset, name, value):
        if not value:
            return queryset
        soon = timezone.localdate() + datetime.timedelta(days=EXPIRING_DAYS)
        return queryset.filter(status__in=STERILE_STATES, expires_on__lte=soon)


class SterilizationCycleFilter(FilterSet):
    """The cycle list (`/centers/sterilization/cycles/`) and the API's cycles."""

    center = django_filters.ModelChoiceFilter(
        label=_("center"), queryset=SharedCenter.objects.all()
    )
    status = _status(CycleStatus.choices)
    method = django_filters.ChoiceFilter(label=_("method"), choices=SterilizationMethod.choices)
    sterilizer = django_filters.CharFilter(label=_("sterilizer"))
    started_from = django_filters.DateFilter(
        label=_("Started from"), method="filter_started_from", widget=DATE
    )

    class Meta:
        model = SterilizationCycle
        fields = ["center", "status", "method", "sterilizer", "started_from"]

    def filter_started_from(self, queryset, name, value):
        return queryset.filter(started_at__gte=_day_start(value))


class SupplyRequestFilter(FilterSet):
    """The supply requests (`/centers/sterilization/requests/`, the page's tabs) and the API's."""

    status = django_filters.ChoiceFilter(label=_("status"), choices=SupplyRequestStatus.choices)
    center = django_filters.ModelChoiceFilter(
        label=_("center"), queryset=SharedCenter.objects.all()
    )

    class Meta:
        model = SupplyRequest
        fields = ["status", "center"]
