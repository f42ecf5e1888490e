from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from alliance.choices import Specialty
from alliance.selectors import patient_for_user
from core.access import RestrictedViewSetMixin
from core.api.pagination import NewestFirstCursorPagination

from .. import selectors, services
from ..choices import ExamType, Service
from ..filters import FollowUpTaskFilter, ReferralFilter
from ..models import FollowUpTask, Referral
from ..views import attachment_response
from . import serializers as s

TRANSITION_DOC = _("Answers with the updated referral; 409 when the state does not allow it.")


class ReferralViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Two-way referrals. Changes of state are explicit actions, never a writable status."""

    # The reverse one-to-one `referred_back_by` is joined too: one query a page, not one a row.
    queryset = Referral.objects.select_related(*selectors.LIST_RELATED, "referred_back_by")
    serializer_class = s.ReferralSerializer
    filterset_class = ReferralFilter
    pagination_class = NewestFirstCursorPagination
    # Only columns that are never empty: a cursor cannot point past a NULL, so ordering by
    # submitted_at or due_at (empty on drafts) lost or repeated rows while following `next`.
    ordering_fields = ["created_at", "number"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_permissions = {
        name: "referrals.view_referral"
        for name in ("list", "retrieve", "events", "attachment_download")
    } | {
        name: "referrals.change_referral"
        for name in (
            "create",
            "partial_update",
            "suggest_targets",
            *services.TRANSITIONS,
            "refer_back",
            "attachments",
        )
    }

    def get_serializer_class(self):
        return s.ReferralDetailSerializer if self.action != "list" else s.ReferralSerializer

    def _answer(self, referral: Referral, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(referral).data, status=code)

    def _idempotency_key(self) -> str:
        key = self.request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 64:
            raise ValidationError({"Idempotency-Key": [_("At most 64 characters.")]})
        return key

    def _body(self, serializer_class, instance=None, **kwargs):
        """The request body read by `serializer_class`; `instance` is the referral changed or
        acted on, which bounds what the body may name (alliance.api.references)."""
        body = serializer_class(
            instance, data=self.request.data, context=self.get_serializer_context(), **kwargs
        )
        body.is_valid(raise_exception=True)
        return body.validated_data

    @extend_schema(
        request=s.ReferralCreateSerializer,
        responses={201: s.ReferralDetailSerializer, 200: s.ReferralDetailSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description=_("A retry with the same key returns the first referral (200)."),
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        """Create a draft, or submit at once with `"submit": true`."""
        data = self._body(s.ReferralCreateSerializer)
        key = self._idempotency_key()
        referral, created = services.referral_create(
            actor=request.user, idempotency_key=key, **data
        )
        return self._answer(referral, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=s.ReferralUpdateSerializer, responses=s.ReferralDetailSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Edit a draft, or add information the receiver asked for."""
        referral = self.get_object()
        data = self._body(s.ReferralUpdateSerializer, referral, partial=True)
        return self._answer(services.referral_update(actor=request.user, referral=referral, **data))

    def _transition(self, service, serializer_class=s.NoteSerializer, **renames):
        referral = self.get_object()
        data = self._body(serializer_class, referral)
        for old, new in renames.items():
            data[new] = data.pop(old)
        return self._answer(service(actor=self.request.user, referral=referral, **data))

    @extend_schema(
        request=s.NoteSerializer, responses=s.ReferralDetailSerializer, description=TRANSITION_DOC
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._transition(services.referral_submit)

    @extend_schema(
        request=s.RequiredNoteSerializer,
        responses=s.ReferralDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def request_info(self, request, pk=None):
        return self._transition(services.referral_request_info, s.RequiredNoteSerializer)

    @extend_schema(
        request=s.NoteSerializer, responses=s.ReferralDetailSerializer, description=TRANSITION_DOC
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._transition(services.referral_accept)

    @extend_schema(
        request=s.ReasonSerializer, responses=s.ReferralDetailSerializer, description=TRANSITION_DOC
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._transition(services.referral_reject, s.ReasonSerializer)

    @extend_schema(
        request=s.RedirectSerializer,
        responses=s.ReferralDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def redirect(self, request, pk=None):
        return self._transition(services.referral_redirect, s.RedirectSerializer)

    @extend_schema(
        request=s.ScheduleSerializer,
        responses=s.ReferralDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def schedule(self, request, pk=None):
        return self._transition(services.referral_schedule, s.ScheduleSerializer)

    @extend_schema(
        request=s.NoteSerializer, responses=s.ReferralDetailSerializer, description=TRANSITION_DOC
    )
    @action(detail=True, methods=["post"])
    def arrive(self, request, pk=None):
        return self._transition(services.referral_arrive)

    @extend_schema(
        request=s.CompleteSerializer,
        responses=s.ReferralDetailSerializer,
        description=TRANSITION_DOC,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._transition(services.referral_complete, s.CompleteSerializer)

    @extend_schema(
        request=s.ReasonSerializer, responses=s.ReferralDetailSerializer, description=TRANSITION_DOC
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._transition(services.referral_cancel, s.ReasonSerializer)

    @extend_schema(
        request=s.NoteSerializer, responses=s.ReferralDetailSerializer, description=TRANSITION_DOC
    )
    @action(detail=True, methods=["post"])
    def no_show(self, request, pk=None):
        return self._transition(services.referral_no_show)

    @extend_schema(
        request=s.ReferBackSerializer,
        responses={201: s.ReferralDetailSerializer, 200: s.ReferralDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def refer_back(self, request, pk=None):
        """Start the downward referral that returns a completed upward one."""
        referral = self.get_object()
        data = self._body(s.ReferBackSerializer)
        key = self._idempotency_key()
        # A client's retry answers with the referral its first request created (the service).
        back, created = services.referral_refer_back(
            actor=request.user, referral=referral, idempotency_key=key, **data
        )
        return self._answer(back, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": s.AttachmentUploadSerializer},
        responses={201: s.AttachmentSerializer},
        description=_("PDF, JPEG or PNG, checked by content; size-limited."),
    )
    @extend_schema(methods=["GET"], responses=s.AttachmentSerializer(many=True))
    @action(
        detail=True,
        methods=["get", "post"],
        pagination_class=None,
        filterset_class=None,
        parser_classes=[MultiPartParser, FormParser],
    )
    def attachments(self, request, pk=None):
        referral = self.get_object()
        if request.method == "GET":
            return Response(s.AttachmentSerializer(referral.attachments.all(), many=True).data)
        upload = self._body(s.AttachmentUploadSerializer)["file"]
        attachment = services.referral_attach(actor=request.user, referral=referral, upload=upload)
        return Response(s.AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>\d+)",
        url_name="attachment-download",
        pagination_class=None,
        filterset_class=None,
    )
    def attachment_download(self, request, pk=None, attachment_id=None):
        """The file itself; only for users who may see the referral."""
        return attachment_response(self.get_object(), attachment_id)

    @extend_schema(responses=s.ReferralEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def events(self, request, pk=None):
        """The timeline: every step, oldest first."""
        referral = self.get_object()
        events = referral.events.select_related("actor").order_by("at", "pk")
        return Response(s.ReferralEventSerializer(events, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("patient", OpenApiTypes.INT, required=True),
            OpenApiParameter("service", OpenApiTypes.STR, enum=Service.values),
            OpenApiParameter("specialty", OpenApiTypes.STR, enum=Specialty.values),
            OpenApiParameter("exam_type", OpenApiTypes.STR, enum=ExamType.values),
        ],
        responses=s.TargetSerializer(many=True),
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="suggest-targets",
        pagination_class=None,
        filterset_class=None,
    )
    def suggest_targets(self, request):
        """Where to refer: capable institutions of the alliance, nearest to the patient first."""
        params = request.query_params
        errors = {}
        patient = None
        try:
            # The answer names institutions, not the patient: no access-log row of its own.
            patient = patient_for_user(request.user, params.get("patient", ""), audited=False)
        except Http404:
            errors["patient"] = [_("Give the id of a patient you can see.")]
        service = params.get("service", Service.OUTPATIENT)
        if service not in Service.values:
            errors["service"] = [_("Unknown service.")]
        specialty = params.get("specialty", "")
        if specialty and specialty not in Specialty.values:
            errors["specialty"] = [_("Unknown specialty.")]
        exam_type = params.get("exam_type", "")
        if exam_type and exam_type not in ExamType.values:
            errors["exam_type"] = [_("Unknown examination.")]
        if errors:
            raise ValidationError(errors)
        targets = selectors.suggest_targets(request.user, patient, service, specialty, exam_type)
        return Response(s.TargetSerializer(targets, many=True).data)


class FollowUpTaskViewSet(
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Follow-up tasks of downward referrals: the community's worklist, earliest due first."""

    queryset = FollowUpTask.objects.select_related("patient", "referral")
    serializer_class = s.FollowUpTaskSerializer
    filterset_class = FollowUpTaskFilter
    ordering_fields = ["due_on"]
    ordering = ["due_on", "id"]
    action_permissions = {
        "list": "referrals.view_referral",
        "retrieve": "referrals.view_referral",
        "done": "referrals.change_referral",
    }

    @extend_schema(request=s.NoteSerializer, responses=s.FollowUpTaskSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        """Record that the follow-up took place."""
        task = self.get_object()
        note = self._note()
        return Response(
            s.FollowUpTaskSerializer(
                services.follow_up_done(actor=request.user, task=task, note=note)
            ).data
        )

    def _note(self) -> str:
        body = s.NoteSerializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data["note"]
