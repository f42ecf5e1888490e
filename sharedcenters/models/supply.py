"""The members' requests for sterile packages, their lines and their events."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alliance.models import Department, Institution
from core.events import Event

from ..choices import SupplyRequestStatus
from ..querysets import SupplyRequestLineQuerySet, SupplyRequestQuerySet
from .centers import SharedCenter
from .sterilization import InstrumentSet

# A line asks for at most as many packages as one batch scan may move.
MAX_REQUEST_QUANTITY = 200


class SupplyRequest(models.Model):
    """A member institution's request (申领单) for sterile packages from the supply center.

    How many packages each line has received is counted from the dispatch events that name the
    request, never stored, so the request and the packages' trace cannot disagree."""

    number = models.CharField(_("request number"), max_length=20, unique=True)
    center = models.ForeignKey(
        SharedCenter,
        verbose_name=_("center"),
        on_delete=models.PROTECT,
        related_name="supply_requests",
    )
    requesting_institution = models.ForeignKey(
        Institution,
        verbose_name=_("requesting institution"),
        on_delete=models.PROTECT,
        related_name="supply_requests",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supply_requests",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="supply_requests",
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=SupplyRequestStatus.choices,
        default=SupplyRequestStatus.SUBMITTED,
    )
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    needed_by = models.DateField(_("needed by"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supply_requests_cancelled",
    )

    objects = SupplyRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("supply request")
        verbose_name_plural = _("supply requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(status=SupplyRequestStatus.FULFILLED, fulfilled_at__isnull=False)
                | (~Q(status=SupplyRequestStatus.FULFILLED) & Q(fulfilled_at__isnull=True)),
                name="supply_request_fulfilled_at",
            ),
            models.CheckConstraint(
                condition=Q(status=SupplyRequestStatus.CANCELLED, cancelled_at__isnull=False)
                | (~Q(status=SupplyRequestStatus.CANCELLED) & Q(cancelled_at__isnull=True)),
                name="supply_request_cancelled_at",
            ),
        ]
        indexes = [
            models.Index(fields=["center", "status", "created_at"], name="supply_request_worklist"),
            models.Index(
                fields=["requesting_institution", "-created_at"], name="supply_request_outbox"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status == SupplyRequestStatus.SUBMITTED


class SupplyRequestLine(models.Model):
    """How many packages of one instrument set a request asks for."""

    request = models.ForeignKey(
        SupplyRequest,
        verbose_name=_("supply request"),
        on_delete=models.CASCADE,
        related_name="lines",
    )
    instrument_set = models.ForeignKey(
        InstrumentSet,
        verbose_name=_("instrument set"),
        on_delete=models.PROTECT,
        related_name="supply_request_lines",
    )
    quantity = models.PositiveSmallIntegerField(
        _("quantity"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_REQUEST_QUANTITY)],
    )

    objects = SupplyRequestLineQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name = _("supply request line")
        verbose_name_plural = _("supply request lines")
        constraints = [
            models.UniqueConstraint(
                fields=["request", "instrument_set"], name="supply_request_line_once"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=MAX_REQUEST_QUANTITY),
                name="supply_request_line_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_set} × {self.quantity}"

    @property
    def remaining(self) -> int:
        """Still to dispatch; needs the `dispatched` annotation of `with_dispatched()`."""
        return max(self.quantity - self.dispatched, 0)


class SupplyRequestEvent(Event):
    """A step of a supply request (cancelled by the requester, fulfilled by a dispatch)."""

    request = models.ForeignKey(
        SupplyRequest,
        verbose_name=_("supply request"),
        on_delete=models.CASCADE,
        related_name="events",
    )

    class Meta(Event.Meta):
        verbose_name = _("supply request event")
        verbose_name_plural = _("supply request events")
        indexes = [models.Index(fields=["request", "at"], name="supply_request_event_timeline")]

    def __str__(self) -> str:
        return f"{self.request} {self.from_status}→{self.to_status}"
