"""Home pages that show each role's work: counts from the worklists' selectors, links that
resolve, a fixed number of queries per role, no patient name where the role may not see one."""

import datetime

import pytest
from django.utils import timezone, translation

from alliance.panels import home_panels_for
from referrals import services
from referrals.models import Referral
from tests.alliance.test_pages import logged_in
from tests.referrals.conftest import payload

pytestmark = pytest.mark.django_db


def _referral(world, actor, *, to, status="submitted", **fields):
    data = payload(world)
    data["patient"] = world["patient"]
    data["to_institution"] = to
    data["to_department"] = world["cardiology"] if to == world["hospital"] else None
    referral, _ = services.referral_create(actor=actor, **data)
    Referral.objects.filter(pk=referral.pk).update(
        status=status, submitted_at=timezone.now(), **fields
    )
    return referral


def _items(user, role):
    """The items by their English label, whatever language the test process is in."""
    with translation.override("en"):
        return {str(i.label): i for p in home_panels_for(user, role) for i in p.items}


def test_community_sees_information_requested_on_its_own_referrals(world, clinic_doctor, client):
    _referral(world, clinic_doctor, to=world["hospital"], status="info_requested")
    items = _items(clinic_doctor, "community_staff")
    assert items["Information requested on my referrals"].count == 1
    assert items["Downward referrals to accept"].count == 0
    for item in items.values():
        assert logged_in(clinic_doctor, "en").get(item.url).status_code == 200


def test_another_institutions_referrals_never_count(world, clinic_doctor, outsider_clinic_user):
    _referral(world, clinic_doctor, to=world["hospital"], status="info_requested")
    items = _items(outsider_clinic_user, "community_staff")
    assert items["Information requested on my referrals"].count == 0


def test_hospital_sees_overdue_and_due_soon(world, clinic_doctor, hospital_triage):
    now = timezone.now()
    _referral(world, clinic_doctor, to=world["hospital"], due_at=now - datetime.timedelta(hours=1))
    _referral(world, clinic_doctor, to=world["hospital"], due_at=now + datetime.timedelta(hours=1))
    items = _items(hospital_triage, "hospital_staff")
    assert items["Overdue answers"].count == 1
    assert items["Answers due within 4 hours"].count == 1
    for item in items.values():
        assert logged_in(hospital_triage, "en").get(item.url).status_code == 200


def test_office_sees_overdue_referrals(world, clinic_doctor, alliance_office):
    now = timezone.now()
    _referral(world, clinic_doctor, to=world["hospital"], due_at=now - datetime.timedelta(hours=1))
    items = _items(alliance_office, "alliance_office")
    assert items["Overdue referrals"].count == 1
    assert items["Failed imports"].count == 0
    for item in items.values():
        assert logged_in(alliance_office, "en").get(item.url).status_code == 200


@pytest.mark.parametrize(
    ("persona", "queries"),
    [
        ("clinic_doctor", 29),
        ("hospital_triage", 18),
        ("center_staff", 17),
        ("alliance_office", 18),
        ("bureau_viewer", 12),
    ],
    indirect=["persona"],
)
def test_home_answers_with_a_pinned_number_of_queries(
    persona, queries, world, django_assert_num_queries
):
    client = logged_in(persona, "en")
    with django_assert_num_queries(queries):
        response = client.get("/")
    assert response.status_code == 200


def test_center_staff_home_names_no_patient(world, clinic_doctor, center_staff):
    _referral(world, clinic_doctor, to=world["hospital"])
    html = logged_in(center_staff, "en").get("/").content.decode()
    assert "张伟" not in html
