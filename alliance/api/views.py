from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import action, api_view
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from alliance import selectors, services, tokens
from alliance.filters import DepartmentFilter, InstitutionFilter, PatientFilter
from alliance.models import (
    Alliance,
    ApiToken,
    ApiTokenKind,
    Department,
    Institution,
    Membership,
    Patient,
)
from core import audit, twofactor
from core.access import RestrictedViewSetMixin, profile_of
from core.api.throttling import IdentityNumberThrottle
from core.choices import AccessKind

from .serializers import (
    AllianceSerializer,
    ContactCardSerializer,
    DepartmentSerializer,
    InstitutionSerializer,
    PatientLookupSerializer,
    PatientSerializer,
)


class InstitutionViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Institution.objects.select_related("district")
    serializer_class = InstitutionSerializer
    filterset_class = InstitutionFilter
    ordering_fields = ["name", "code", "kind", "approved_beds", "population_served"]
    ordering = ["name"]


class DepartmentViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Departments and their contact cards. Everyone who sees an institution reads its cards;
    its administrator and the alliance office add and change them (403 for others). A
    department is retired with `is_active: false`, never deleted."""

    queryset = Department.objects.select_related("institution")
    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilter
    ordering_fields = ["name", "institution__name", "specialty"]
    ordering = ["institution__name", "name"]
    action_permissions = {
        "create": "alliance.add_department",
        "update": "alliance.change_department",
        "partial_update": "alliance.change_department",
    }

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return ContactCardSerializer
        return DepartmentSerializer

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        institution = data.pop("institution")
        serializer.instance = services.department_create(
            actor=self.request.user, institution=institution, **data
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("institution", None)
        serializer.instance = services.department_update(
            actor=self.request.user, department=serializer.instance, **data
        )


class AllianceViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Alliance.objects.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.order_by("joined_on")),
        "specialty_networks__departments",
    )
    serializer_class = AllianceSerializer
    filterset_fields = ["mode", "closeness", "lead_institution"]
    ordering_fields = ["name"]
    ordering = ["name"]


class PatientViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Residents; lists and details show identity numbers masked, and only the reveal-id-number
    action shows one in full. Views, reveals and changes are logged."""

    queryset = Patient.objects.select_related("home_institution")
    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    ordering_fields = ["name", "birth_date", "created_at"]
    ordering = ["name", "id"]
    action_permissions = {
        "list": "alliance.view_patient",
        "retrieve": "alliance.view_patient",
        "create": "alliance.add_patient",
        "update": "alliance.change_patient",
        "partial_update": "alliance.change_patient",
        "lookup": "alliance.view_patient",
        "reveal_id_number": "alliance.view_patient",
    }

    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        services.patient_viewed(actor=request.user, patient=patient)
        return Response(self.get_serializer(patient).data)

    def get_throttles(self):
        # Look-up and registration both tell whether a number is registered: one budget a
        # user, so a burst of either is refused (429) and logged as an enumeration.
        if self.action in IdentityNumberThrottle.actions:
            return [IdentityNumberThrottle()]
        return super().get_throttles()

    @extend_schema(
        request=PatientLookupSerializer,
        responses={200: PatientSerializer},
        description=_(
            "404 when nobody in the alliance has the number; 409 when it is registered at an "
            "institution whose records you may not see (what registering it would answer, "
            "without saying where); 429 after too many look-ups and registrations in a minute."
        ),
    )
    @action(detail=False, methods=["post"])
    def lookup(self, request):
        """Find one resident by the full identity number, sent in the body (never in a URL)."""
        query = PatientLookupSerializer(data=request.data)
        query.is_valid(raise_exception=True)
        patient = selectors.patient_by_identity_number(
            request.user, query.validated_data["id_number"]
        )
        services.patient_viewed(actor=request.user, patient=patient)
        return Response(self.get_serializer(patient).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("RevealedIdNumber", {"id_number": serializers.CharField()}),
    )
    @action(detail=True, methods=["post"], url_path="reveal-id-number")
    def reveal_id_number(self, request, pk=None):
        """The full identity number of one resident: the only answer that is not masked.

        POST (never a cacheable or prefetchable GET); the same rules as the detail apply (404
        for a resident the user may not see), and each call is recorded in the access log."""
        patient = self.get_object()
        number = services.patient_id_number_revealed(actor=request.user, patient=patient)
        return Response({"id_number": number}, headers={"Cache-Control": "no-store, private"})

    def perform_create(self, serializer):
        serializer.instance = services.patient_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.patient_update(
            actor=self.request.user, patient=serializer.instance, **serializer.validated_data
        )


class TokenRequestSerializer(AuthTokenSerializer):
    # Django's usernames are at most 150 characters: a longer one is a 400 before it reaches
    # authentication (and django-axes' attempt log, whose column it would overflow).
    username = serializers.CharField(label=_("Username"), max_length=150, write_only=True)
    otp = serializers.CharField(
        label=_("Two-factor code"),
        max_length=16,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text=_(
            "The current six-digit code of the authenticator app: required for every "
            "account that signs in with two factors."
        ),
    )


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiry = serializers.DateTimeField(allow_null=True)


class TokenView(GenericAPIView):
    """`POST {"username", "password", "otp"}` → `{"token", "expiry"}`; send it as
    `Authorization: Token <token>`. `DELETE` revokes the token the request carries, of any kind
    (a machine token's service account is deactivated with it); from a browser session, its
    sign-in tokens. Both are in the access log."""

    throttle_classes = ()
    permission_classes = ()
    serializer_class = TokenRequestSerializer

    @extend_schema(summary=_("Obtain an API token"), responses=TokenResponseSerializer)
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except exceptions.ValidationError:
            # axes flags the request when these credentials are (now) locked out: say so,
            # rather than "wrong password", and say for how long.
            if getattr(request, "axes_locked_out", False):
                raise exceptions.Throttled(
                    wait=settings.AXES_COOLOFF_TIME.total_seconds(),
                    detail=str(_("Too many failed login attempts. Try again later.")),
                ) from None
            raise
        user = serializer.validated_data["user"]
        # The browser session stops at /accounts/2fa/; a token is a session too.
        twofactor.check_api_code(request, user, serializer.validated_data.get("otp", ""))
        # No session login here, so no user_logged_in signal: tell axes directly, which logs
        # the access and clears the failures as for the login page.
        AxesProxyHandler.user_logged_in(sender=type(self), request=request, user=user)
        token, key = ApiToken.objects.create(user=user, kind=ApiTokenKind.SIGN_IN)
        # A token sign-in is a sign-in: in the access log like the login page's.
        audit.record(
            AccessKind.LOGIN, request=request, user=user, channel="api", ref=token.digest[:12]
        )
        return Response({"token": key, "expiry": token.expiry})

    @extend_schema(
        summary=_("Revoke the API token of this request"), request=None, responses={204: None}
    )
    def delete(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        if isinstance(request.auth, ApiToken):
            tokens.token_revoke(actor=request.user, token=request.auth)
        else:  # signed in with the browser session: its sign-in tokens end with it
            for token in ApiToken.objects.filter(user=request.user, kind=ApiTokenKind.SIGN_IN):
                tokens.token_revoke(actor=request.user, token=token)
        return Response(status=204)


@extend_schema(
    summary=_("The current user, institution and role"),
    responses=inline_serializer(
        "Me",
        {
            "username": serializers.CharField(),
            "name": serializers.CharField(),
            "is_superuser": serializers.BooleanField(),
            "role": serializers.CharField(allow_null=True),
            "institution": serializers.IntegerField(allow_null=True),
            "department": serializers.IntegerField(allow_null=True),
        },
    ),
)
@api_view(["GET"])
def me(request):
    profile = profile_of(request.user)
    return Response(
        {
            "username": request.user.get_username(),
            "name": request.user.get_full_name(),
            "is_superuser": request.user.is_superuser,
            "role": profile.role if profile else None,
            "institution": profile.institution_id if profile else None,
            "department": profile.department_id if profile else None,
        }
    )
