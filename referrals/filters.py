import datetime

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alliance.models import Institution
from core.filters import CheckboxFilterInput, FilterSet

from .choices import Direction, Service, Status, Urgency
from .models import FollowUpTask, Referral


class ReferralFilter(FilterSet):
    """My referrals (`/referrals/`) and the API's referrals."""

    q = django_filters.CharFilter(
        label=_("Search"), method="filter_q", help_text=_("Referral number or patient name")
    )
    status = django_filters.MultipleChoiceFilter(label=_("status"), choices=Status.choices)
    direction = django_filters.ChoiceFilter(label=_("direction"), choices=Direction.choices)
    urgency = django_filters.ChoiceFilter(label=_("urgency"), choices=Urgency.choices)
    service = django_filters.ChoiceFilter(label=_("requested service"), choices=Service.choices)
    from_institution = django_filters.ModelChoiceFilter(
        label=_("from institution"), queryset=Institution.objects.all()
    )
    to_institution = django_filters.ModelChoiceFilter(
        label=_("to institution"), queryset=Institution.objects.all()
    )
    # Two date filters rather than a DateFromToRangeFilter, so an error names the parameter the
    # client sent (`submitted_after`), not the range (`submitted`).
    submitted_after = django_filters.DateFilter(
        label=_("Submitted from"), field_name="submitted_at", method="filter_from"
    )
    submitted_before = django_filters.DateFilter(
        label=_("Submitted until"), field_name="submitted_at", method="filter_until"
    )
    created_after = django_filters.DateFilter(
        label=_("Created from"), field_name="created_at", method="filter_from"
    )
    created_before = django_filters.DateFilter(
        label=_("Created until"), field_name="created_at", method="filter_until"
    )

    class Meta:
        model = Referral
        fields = [
            "q",
            "status",
            "direction",
            "urgency",
            "service",
            "from_institution",
            "to_institution",
            "submitted_after",
            "submitted_before",
            "created_after",
            "created_before",
        ]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__iexact=value) | Q(patient__name__icontains=value))

    # Whole local days, compared with the datetime column itself so its index stays usable.
    def filter_from(self, queryset, name, value):
        start = timezone.make_aware(datetime.datetime.combine(value, datetime.time.min))
        return queryset.filter(**{f"{name}__gte": start})

    def filter_until(self, queryset, name, value):
        end = timezone.make_aware(datetime.datetime.combine(value, datetime.time.max))
        return queryset.filter(**{f"{name}__lte": end})


def _visible_referrals(request):
    # An id the user may not see is refused like an unknown one: the filter discloses nothing.
    return Referral.objects.restrict(getattr(request, "user", None))


class FollowUpTaskFilter(FilterSet):
    """The follow-up worklist (`/referrals/follow-ups/`, open tasks only) and the API's tasks."""

    referral = django_filters.ModelChoiceFilter(queryset=_visible_referrals)
    open = django_filters.BooleanFilter(
        label=_("Open only"),
        method="filter_open",
        widget=CheckboxFilterInput,
        help_text=_("`1` or `true`: the tasks not yet done."),
    )

    class Meta:
        model = FollowUpTask
        fields = ["institution", "kind", "referral", "open"]

    def filter_open(self, queryset, name, value):
        # `open=false` lists every task, as it always did: only the open ones are narrowed.
        return queryset.filter(done_at__isnull=True) if value else queryset
