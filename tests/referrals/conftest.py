import pytest

from referrals import services
from tests.factories import DepartmentFactory

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
        institution=world["hospital"], name="急诊科", specialty="emergency",
        on_duty_phone="13901700120",
    )  # fmt: skip


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
