"""Django admin for every alliance model, in Chinese, with the institution tree visible."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from core.history import with_actors

from . import services
from .models import (
    AccessLog,
    Alliance,
    Department,
    District,
    Institution,
    Membership,
    MembershipHistory,
    Patient,
    PatientAccess,
    SpecialtyNetwork,
    StaffProfile,
    StaffProfileHistory,
)
from .querysets import tree_order


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "population"]
    search_fields = ["name", "code"]


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0
    fields = ["name", "specialty", "phone", "on_duty_phone", "accepts_referrals", "head"]


class ChildInstitutionInline(admin.TabularInline):
    model = Institution
    fk_name = "parent"
    extra = 0
    fields = ["name", "code", "kind", "is_active"]
    show_change_link = True
    verbose_name = _("subordinate institution")
    verbose_name_plural = _("subordinate institutions")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["institution"]


@admin.register(Institution)
class InstitutionAdmin(admin.ModelAdmin):
    list_display = [
        "tree_name",
        "code",
        "kind",
        "tier_label",
        "district",
        "approved_beds",
        "is_active",
    ]
    list_filter = ["kind", "district", "is_active"]
    search_fields = ["name", "short_name", "code", "departments__name"]
    list_select_related = ["parent", "parent__parent", "district"]
    autocomplete_fields = ["parent"]
    inlines = [ChildInstitutionInline, DepartmentInline]
    ordering = tree_order()

    @admin.display(description=_("name"), ordering="name")
    def tree_name(self, obj: Institution) -> str:
        depth = 0 if obj.parent_id is None else 2 if obj.parent.parent_id else 1
        return format_html("{}{}", "\u3000" * (depth - 1) + "└ " if depth else "", obj.name)

    @admin.display(description=_("tier"))
    def tier_label(self, obj: Institution) -> str:
        return obj.get_tier_display()


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "institution",
        "specialty",
        "phone",
        "on_duty_phone",
        "accepts_referrals",
    ]
    list_filter = ["specialty", "accepts_referrals", "institution__district"]
    search_fields = ["name", "institution__name", "phone", "head"]
    list_select_related = ["institution"]
    autocomplete_fields = ["institution"]


@admin.register(Alliance)
class AllianceAdmin(admin.ModelAdmin):
    list_display = ["name", "mode", "closeness", "lead_institution", "established_on"]
    list_filter = ["mode", "closeness"]
    search_fields = ["name"]
    autocomplete_fields = ["lead_institution"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["alliance", "institution", "joined_on", "left_on"]
    list_filter = ["alliance"]
    search_fields = ["institution__name", "alliance__name"]
    autocomplete_fields = ["alliance", "institution"]


@admin.register(SpecialtyNetwork)
class SpecialtyNetworkAdmin(admin.ModelAdmin):
    list_display = ["name", "alliance", "specialty", "lead_department"]
    list_filter = ["alliance", "specialty"]
    search_fields = ["name"]
    filter_horizontal = ["departments"]


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "institution", "department"]
    list_filter = ["role", "institution__district"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "institution__name"]
    list_select_related = ["user", "institution", "department", "department__institution"]
    autocomplete_fields = ["user", "institution", "department"]


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    autocomplete_fields = ["institution", "department"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    inlines = [StaffProfileInline]
    list_display = ["username", "first_name", "last_name", "is_active", "is_staff"]


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    """Read-only and for superusers: patient records change only through the services, which
    check scope and write the access log. (The `rules` grants of alliance.view_patient to
    clinical roles are for the app and API, not for the admin.)"""

    list_display = ["name", "gender", "birth_date", "masked_id", "home_institution", "signed"]
    list_filter = ["gender", "signed", "home_institution"]
    search_fields = ["name"]  # never the identity number: it would land in URLs and logs
    list_select_related = ["home_institution"]
    fields = [
        "name",
        "gender",
        "birth_date",
        "masked_id",
        "masked_phone",
        "address",
        "home_institution",
        "signed",
        "signing_institution",
        "signed_on",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).restrict(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        patient = self.get_object(request, object_id)
        if patient is not None and self.has_view_permission(request, patient):
            services.patient_viewed(actor=request.user, patient=patient, channel="admin")
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("identity number"))
    def masked_id(self, obj: Patient) -> str:
        return obj.masked_id_number

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Patient) -> str:
        return obj.masked_phone


class HistoryAdmin(ReadOnlyAdmin):
    """A change-history table (django-pghistory), newest first, with who made each change:
    the user of the request, from the context the middleware attached."""

    tracked_fields: list[str] = []
    list_filter = ["pgh_label"]
    date_hierarchy = "pgh_created_at"
    ordering = ["-pgh_created_at", "-pgh_id"]

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def get_list_display(self, request):
        return ["pgh_created_at", "pgh_label", "pgh_obj_id", *self.tracked_fields, "changed_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("pgh_context")

    def get_search_results(self, request, queryset, search_term):
        if search_term.isdigit():  # the id of the changed record
            return queryset.filter(pgh_obj_id=int(search_term)), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("changed by"))
    def changed_by(self, row) -> str:
        user = with_actors([row])[0].changed_by
        return (user.get_full_name() or user.get_username()) if user else "—"


@admin.register(StaffProfileHistory)
class StaffProfileHistoryAdmin(HistoryAdmin):
    tracked_fields = ["user", "role", "institution", "department", "is_institution_admin"]
    search_fields = ["user__username"]


@admin.register(MembershipHistory)
class MembershipHistoryAdmin(HistoryAdmin):
    tracked_fields = ["alliance", "institution", "joined_on", "left_on"]
    search_fields = ["institution__name"]


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    list_display = ["at", "kind", "username", "ip_address", "path", "patient"]
    list_filter = ["kind"]
    search_fields = ["username", "path"]
    list_select_related = ["patient"]
    date_hierarchy = "at"


@admin.register(PatientAccess)
class PatientAccessAdmin(ReadOnlyAdmin):
    """Who may see which patient through a relation, why and since when (alliance.visibility).
    Read-only for everyone: the services write the rows with the records that grant them, so a
    row changed by hand would disagree with its referral. Superusers only, as the patients."""

    list_display = ["since", "institution", "patient", "reason", "source_label", "source_pk"]
    list_filter = [("institution", admin.RelatedOnlyFieldListFilter), "reason", "source_label"]
    # The patient's record number (their id in this table), never the identity number: it would
    # land in URLs and logs. The patient shows as everywhere in the admin: name, masked number.
    search_fields = ["=patient__pk"]
    search_help_text = _("The patient's record number.")
    list_select_related = ["institution", "patient"]
    date_hierarchy = "since"
    ordering = ["-since", "-pk"]
    fields = ["institution", "patient", "reason", "source_label", "source_pk", "since"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit() and len(term) <= 9:  # a record number, never an overflow
            return queryset.filter(patient_id=int(term)), False
        return queryset.none(), False  # not a record number: nothing, rather than an error
