import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from alliance.models import Institution

from .choices import Direction, Service, Status, Urgency
from .models import Referral


class ReferralFilter(django_filters.FilterSet):
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
    submitted = django_filters.DateFromToRangeFilter(
        label=_("submitted between"), field_name="submitted_at"
    )
    created = django_filters.DateFromToRangeFilter(
        label=_("created between"), field_name="created_at"
    )

    class Meta:
        model = Referral
        fields = [
            "q", "status", "direction", "urgency", "service", "from_institution",
            "to_institution", "submitted", "created",
        ]  # fmt: skip

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__iexact=value) | Q(patient__name__icontains=value))
