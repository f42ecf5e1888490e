"""Change history of referrals, institutions and accounts (django-pghistory triggers): every
change, by `save()` or by a queryset, with the user and address of the request that made it.
PostgreSQL only: SQLite has no such triggers."""

import pytest
from django.contrib.auth.models import User

from alliance.models import Institution, InstitutionHistory, UserHistory
from referrals.models import Referral, ReferralHistory
from tests.conftest import require_postgres
from tests.referrals.conftest import payload


@pytest.fixture(autouse=True)
def _postgres():
    require_postgres()


def test_a_referral_keeps_each_state_with_who_changed_it(world, api, clinic_doctor):
    sender = api.as_user(clinic_doctor)
    created = sender.post("/api/v1/referrals/", payload(world), format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    submitted = sender.post(f"/api/v1/referrals/{pk}/submit/", {}, format="json")
    assert submitted.status_code == 200, submitted.content

    rows = list(ReferralHistory.objects.filter(pgh_obj_id=pk).order_by("pgh_id"))
    assert [(r.pgh_label, r.status) for r in rows][0] == ("insert", "draft")
    assert (rows[-1].pgh_label, rows[-1].status) == ("update", "submitted")
    context = rows[-1].pgh_context.metadata
    assert (context["user"], context["url"]) == (
        clinic_doctor.pk,
        f"/api/v1/referrals/{pk}/submit/",
    )
    assert Referral.objects.get(pk=pk).history.count() == len(rows)


def test_an_institution_changed_by_a_bulk_update_is_recorded(world):
    center = world["center"]
    Institution.objects.filter(pk=center.pk).update(phone="021-99990000")
    last = InstitutionHistory.objects.filter(pgh_obj_id=center.pk).latest("pgh_id")
    assert (last.pgh_label, last.phone) == ("update", "021-99990000")


def test_an_account_change_is_recorded_without_the_password_hash(world, clinic_doctor):
    User.objects.filter(pk=clinic_doctor.pk).update(is_active=False)
    last = UserHistory.objects.filter(pgh_obj_id=clinic_doctor.pk).latest("pgh_id")
    assert (last.pgh_label, last.is_active, last.username) == ("update", False, "clinic_doctor")
    field_names = {f.name for f in UserHistory._meta.get_fields()}
    assert "password" not in field_names and "last_login" not in field_names


def test_a_patient_change_is_recorded_without_the_encrypted_number(world, clinic_doctor):
    from alliance import services
    from alliance.models import PatientHistory

    patient = world["patient"]
    services.patient_update(actor=clinic_doctor, patient=patient, phone="13800009999")
    last = PatientHistory.objects.filter(pgh_obj_id=patient.pk).latest("pgh_id")
    assert (last.pgh_label, last.phone, last.id_number_hash) == (
        "update",
        "13800009999",
        patient.id_number_hash,
    )
    assert "id_number" not in {f.name for f in PatientHistory._meta.get_fields()}


def _admin_post(client, url: str, data: dict):
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]


def test_a_role_changed_in_the_admin_is_recorded_with_who_changed_it(
    world, clinic_doctor, superuser, browser_client
):
    from alliance.models import StaffProfileHistory

    profile = clinic_doctor.staff_profile
    browser_client.force_login(superuser)
    url = f"/admin/alliance/staffprofile/{profile.pk}/change/"
    _admin_post(
        browser_client,
        url,
        {
            "user": clinic_doctor.pk,
            "institution": profile.institution_id,
            "department": profile.department_id or "",
            "role": "hospital_staff",
            "phone": "",
        },
    )

    last = StaffProfileHistory.objects.filter(pgh_obj_id=profile.pk).latest("pgh_id")
    assert (last.pgh_label, last.role) == ("update", "hospital_staff")
    assert (last.pgh_context.metadata["user"], last.pgh_context.metadata["url"]) == (
        superuser.pk,
        url,
    )
    listed = browser_client.get("/admin/alliance/staffprofilehistory/", {"q": str(profile.pk)})
    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list)[0].pgh_id == last.pgh_id


def test_a_membership_ended_in_the_admin_is_recorded_with_who_ended_it(
    world, superuser, browser_client
):
    from alliance.models import Membership, MembershipHistory

    membership = Membership.objects.filter(institution=world["center"]).first()
    browser_client.force_login(superuser)
    url = f"/admin/alliance/membership/{membership.pk}/change/"
    _admin_post(
        browser_client,
        url,
        {
            "alliance": membership.alliance_id,
            "institution": membership.institution_id,
            "joined_on": membership.joined_on.isoformat(),
            "left_on": "2026-06-30",
        },
    )

    last = MembershipHistory.objects.filter(pgh_obj_id=membership.pk).latest("pgh_id")
    assert (last.pgh_label, str(last.left_on)) == ("update", "2026-06-30")
    assert last.pgh_context.metadata["user"] == superuser.pk
