"""The exam orders section of the patient record page (alliance.panels)."""

from django.conf import settings
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from alliance.choices import Role
from alliance.panels import HomeItem, HomePanel, PatientPanel

from . import selectors
from .choices import DIAGNOSTIC_KINDS, CenterKind, OrderStatus
from .models import ExamOrder


def patient_orders(user, patient):
    """The patient's latest exam orders the user may see."""
    return (
        ExamOrder.objects.restrict(user)
        .filter(patient=patient)
        .select_related("center")
        .order_by("-ordered_at")[:20]
    )


PANEL = PatientPanel(template="sharedcenters/patient_panel.html", rows=patient_orders)


# --- the home page's work items (alliance.panels.HomePanel) ------------------------------------


def _url(name: str, **params) -> str:
    query = urlencode(params)
    return reverse(f"sharedcenters:{name}") + (f"?{query}" if query else "")


def center_items(user) -> list[HomeItem]:
    from .views.worklist import WORKLIST_STATES

    if not selectors.worked_center_kinds(user) & set(DIAGNOSTIC_KINDS):
        return []
    by_state = selectors.worklist_counts(user)
    labels = dict(OrderStatus.choices)
    items = [
        HomeItem(labels[state], by_state.get(state, 0), _url("worklist", status=state))
        for state in WORKLIST_STATES
    ]
    items.append(
        HomeItem(
            _("Past the turnaround target"),
            selectors.worklist_overdue(user).count(),
            _url("worklist"),
            "danger",
        )
    )
    items.append(
        HomeItem(
            gettext("Critical values unacknowledged past %(minutes)s minutes")
            % {"minutes": settings.CRITICAL_VALUE_ACK_MINUTES},
            selectors.critical_past_escalation(user).count(),
            _url("order-list", critical="open"),
            "danger",
        )
    )
    return items


def sterilization_items(user) -> list[HomeItem]:
    if CenterKind.STERILIZATION not in selectors.worked_center_kinds(user):
        return []
    counts = selectors.sterilization_counts(user)
    return [
        HomeItem(_("Running cycles"), counts["running"], _url("cycle-list")),
        HomeItem(
            _("Supply requests waiting"), counts["requests"], _url("supply-request-list"), "warning"
        ),
    ]


def results_items(user) -> list[HomeItem]:
    results = selectors.results_to_acknowledge(user)
    return [
        HomeItem(
            _("Results to acknowledge"),
            results["reported"],
            _url("order-list", status=OrderStatus.REPORTED),
            "warning",
        ),
        HomeItem(
            _("Critical values to acknowledge"),
            results["critical"],
            _url("order-list", critical="open"),
            "danger",
        ),
    ]


def office_items(user) -> list[HomeItem]:
    return [
        HomeItem(
            _("Escalated critical values"),
            selectors.escalated_critical(user).count(),
            _url("order-list", critical="open"),
            "danger",
        )
    ]


CENTER = HomePanel(_("Worklist"), frozenset({Role.CENTER_STAFF}), center_items)
STERILIZATION = HomePanel(_("Sterilization"), frozenset({Role.CENTER_STAFF}), sterilization_items)
RESULTS = HomePanel(_("Exam results"), frozenset({Role.COMMUNITY_STAFF}), results_items)
OFFICE = HomePanel(_("Critical value escalations"), frozenset({Role.ALLIANCE_OFFICE}), office_items)
