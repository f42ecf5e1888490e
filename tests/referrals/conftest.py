import datetime

import pytest
from django.utils import timezone

from referrals import services
from tests.kit.factories import DepartmentFactory

ALERTS: list[tuple[str, str]] = []


def record_alert(phone: str, message: str) -> None:
    """Alert backend for tests: keeps what a gateway would have been sent."""
    ALERTS.append((phone, message))


@pytest.fixture
def alerts(settings):
    settings.REFERRAL_ALERT_BACKEND = "tests.referrals.conftest.record_alert"
    ALERTS.clear()
    return ALERTS


@pytest.fixture
def emergency_department(world):
    return DepartmentFactory(
        institution=world["hospital"],
        name="急诊科",
        specialty="emergency",
        on_duty_phone="13901700120",
    )


def payload(world, **overrides) -> dict:
    return {
        "patient": world["patient"].pk,
        "to_institution": world["hospital"].pk,
        "to_department": world["cardiology"].pk,
        "urgency": "urgent",
        "service": "outpatient",
        "diagnosis_code": "I20.0",
        "diagnosis_text": "不稳定型心绞痛",
        "reason": "反复胸痛，需专科评估",
        "clinical_summary": "胸痛2小时，心电图ST段压低",
        "consent": True,
    } | overrides


@pytest.fixture
def make_referral(world, clinic_doctor):
    """A referral from the world's centre to the hospital's cardiology, in the given state."""

    def make(status: str = "submitted", actor=None, **overrides):
        data = payload(world, **overrides)
        data["patient"] = world["patient"] if isinstance(data["patient"], int) else data["patient"]
        data["to_institution"] = world["hospital"]
        data["to_department"] = world["cardiology"]
        referral, _ = services.referral_create(actor=actor or clinic_doctor, **data)
        return referral

    return make


# The services a referral passes through to reach each state, as the two sides would click.
PATH_TO = {
    "draft": [],
    "submitted": ["submit"],
    "info_requested": ["submit", "request_info"],
    "rejected": ["submit", "reject"],
    "cancelled": ["submit", "cancel"],
    "accepted": ["submit", "accept"],
    "scheduled": ["submit", "accept", "schedule"],
    "arrived": ["submit", "accept", "schedule", "arrive"],
    "completed": ["submit", "accept", "schedule", "arrive", "complete"],
    "no_show": ["submit", "accept", "schedule", "no_show"],
}


@pytest.fixture
def referral_in(make_referral, clinic_doctor, hospital_triage):
    """`referral_in("scheduled")`: a referral brought to that state through the services.

    The appointment is tomorrow, or has just passed (a no-show may be recorded) when
    `appointment_passed=True`; a `no_show` referral always had one that passed."""

    def make(status: str = "submitted", *, appointment_passed: bool = False, **overrides):
        def appointment():
            if appointment_passed or status == "no_show":
                return {"appointment_at": timezone.now(), "place": "门诊2楼心内科"}
            return {
                "appointment_at": timezone.now() + datetime.timedelta(days=1),
                "place": "门诊2楼心内科",
            }

        steps = {
            "submit": (services.referral_submit, clinic_doctor, dict),
            "request_info": (
                services.referral_request_info,
                hospital_triage,
                lambda: {"note": "请补充"},
            ),
            "reject": (services.referral_reject, hospital_triage, lambda: {"reason": "无床位"}),
            "cancel": (services.referral_cancel, clinic_doctor, lambda: {"reason": "患者拒绝"}),
            "accept": (services.referral_accept, hospital_triage, dict),
            "schedule": (services.referral_schedule, hospital_triage, appointment),
            "arrive": (services.referral_arrive, hospital_triage, dict),
            "complete": (
                services.referral_complete,
                hospital_triage,
                lambda: {
                    "outcome": "admitted",
                    "summary": "PCI术后病情稳定",
                    "follow_up_plan": "4周复查",
                },
            ),
            "no_show": (services.referral_no_show, hospital_triage, dict),
        }
        referral = make_referral(**overrides)
        for step in PATH_TO[status]:
            service, actor, arguments = steps[step]
            referral = service(actor=actor, referral=referral, **arguments())
        assert referral.status == status
        return referral

    return make
