"""List filters of the shared centers, shared by the API and the pages."""

from __future__ import annotations

import datetime

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alliance.models import Institution, Patient

from .choices import (
    CycleStatus,
    Modality,
    OrderStatus,
    PackageStatus,
    Priority,
    SterilizationMethod,
)
from .models import (
    ExamOrder,
    ImagingSlot,
    InstrumentSet,
    Package,
    SharedCenter,
    SterilizationCycle,
)


def _visible_patients(request) -> QuerySet[Patient]:
    # An id the user may not see is refused like an unknown one: the filter discloses nothing.
    return Patient.objects.restrict(getattr(request, "user", None))


def _day_start(value: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(value, datetime.time.min))


class ExamOrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method="filter_q", help_text=_("Order number or patient name")
    )
    status = django_filters.MultipleChoiceFilter(label=_("status"), choices=OrderStatus.choices)
    center = django_filters.ModelChoiceFilter(
        label=_("center"), queryset=SharedCenter.objects.all()
    )
    priority = django_filters.ChoiceFilter(label=_("priority"), choices=Priority.choices)
    patient = django_filters.ModelChoiceFilter(label=_("patient"), queryset=_visible_patients)
    ordering_institution = django_filters.ModelChoiceFilter(
        label=_("ordering institution"), queryset=Institution.objects.all()
    )
    critical = django_filters.BooleanFilter(label=_("critical value"))
    # Two date filters rather than a range filter, so an error names the parameter the client
    # sent (`ordered_after`), as the referral list does.
    ordered_after = django_filters.DateFilter(
        label=_("Ordered from"), field_name="ordered_at", method="filter_from"
    )
    ordered_before = django_filters.DateFilter(
        label=_("Ordered until"), field_name="ordered_at", method="filter_until"
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


class ImagingSlotFilter(django_filters.FilterSet):
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


class PackageFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(label=_("status"), choices=PackageStatus.choices)
    owner = django_filters.ModelChoiceFilter(
        label=_("member institution"), queryset=Institution.objects.all()
    )
    location = django_filters.ModelChoiceFilter(
        label=_("where it is now"), queryset=Institution.objects.all()
    )
    instrument_set = django_filters.ModelChoiceFilter(
        label=_("instrument set"), queryset=InstrumentSet.objects.all()
    )
    cycle = django_filters.ModelChoiceFilter(
        label=_("sterilization cycle"), queryset=SterilizationCycle.objects.all()
    )
    barcode = django_filters.CharFilter(label=_("barcode"), method="filter_barcode")

    class Meta:
        model = Package
        fields = ["status", "owner", "location", "instrument_set", "cycle", "barcode"]

    def filter_barcode(self, queryset, name, value):
        # Scanners may add spaces around the code; the barcode itself is exact.
        value = value.strip()
        return queryset.filter(barcode=value) if value else queryset


class SterilizationCycleFilter(django_filters.FilterSet):
    center = django_filters.ModelChoiceFilter(
        label=_("center"), queryset=SharedCenter.objects.all()
    )
    status = django_filters.MultipleChoiceFilter(label=_("status"), choices=CycleStatus.choices)
    method = django_filters.ChoiceFilter(label=_("method"), choices=SterilizationMethod.choices)
    sterilizer = django_filters.CharFilter(label=_("sterilizer"))

    class Meta:
        model = SterilizationCycle
        fields = ["center", "status", "method", "sterilizer"]
