"""The referrals section of the patient record page (alliance.panels)."""

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from alliance.choices import Role
from alliance.panels import HomeItem, HomePanel, PatientPanel

from . import selectors
from .choices import Direction, Status
from .models import Referral


def patient_referrals(user, patient):
    """The patient's latest referrals the user may see."""
    return (
        Referral.objects.restrict(user)
        .filter(patient=patient)
        .select_related("from_institution", "to_institution")
        .order_by("-created_at")[:20]
    )


PANEL = PatientPanel(template="referrals/patient_panel.html", rows=patient_referrals)


# --- the home page's work items (alliance.panels.HomePanel) ------------------------------------


def _list(**params) -> str:
    return f"{reverse('referrals:list')}?{urlencode(params, doseq=True)}"


def community_items(user) -> list[HomeItem]:
    follow_ups = selectors.follow_up_counts(user)
    tasks = reverse("referrals:follow-ups") + "?open=1"
    return [
        HomeItem(
            _("Information requested on my referrals"),
            selectors.info_requested(user).count(),
            _list(status=Status.INFO_REQUESTED),
            "warning",
        ),
        HomeItem(
            _("Downward referrals to accept"),
            selectors.downward_to_accept(user).count(),
            reverse("referrals:incoming"),
            "warning",
        ),
        HomeItem(_("Follow-ups due today"), follow_ups["due_today"], tasks, "warning"),
        HomeItem(_("Follow-ups overdue"), follow_ups["overdue"], tasks, "danger"),
        HomeItem(
            _("Patients discharged to us (14 days)"),
            selectors.recently_discharged_to(user).count(),
            _list(direction=Direction.DOWN),
        ),
    ]


def latest_answers(user) -> list[tuple[str, str, str]]:
    """The sent referrals answered in the last week: number, state and receiver, no patient."""
    return [
        (
            referral.number,
            f"{referral.get_status_display()} · {referral.to_institution.name}",
            reverse("referrals:detail", args=[referral.pk]),
        )
        for referral in selectors.latest_answers(user)[:5]
    ]


def hospital_items(user) -> list[HomeItem]:
    incoming = selectors.incoming_counts(user)
    worklist = reverse("referrals:incoming")
    return [
        HomeItem(_("Overdue answers"), incoming["overdue"], worklist, "danger"),
        HomeItem(_("Answers due within 4 hours"), incoming["due_soon"], worklist, "warning"),
        HomeItem(_("Scheduled arrivals today"), incoming["arrivals_today"], worklist),
        HomeItem(
            _("Referrals to send back down"),
            selectors.to_refer_back(user).count(),
            reverse("referrals:to-refer-back"),
        ),
    ]


def office_items(user) -> list[HomeItem]:
    return [
        HomeItem(
            _("Overdue referrals"),
            selectors.overdue(user).count(),
            reverse("referrals:incoming"),
            "danger",
        )
    ]


COMMUNITY = HomePanel(
    _("Referrals and follow-ups"),
    frozenset({Role.COMMUNITY_STAFF}),
    community_items,
    latest_answers,
)
HOSPITAL = HomePanel(_("Incoming referrals"), frozenset({Role.HOSPITAL_STAFF}), hospital_items)
OFFICE = HomePanel(_("Referral escalations"), frozenset({Role.ALLIANCE_OFFICE}), office_items)
