from decimal import Decimal

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from alliance import selectors
from alliance.choices import InstitutionKind, Role
from alliance.demo import DEMO_PASSWORD, load_demo
from alliance.models import (
    Alliance,
    Department,
    Institution,
    Membership,
    Patient,
    SpecialtyNetwork,
    StaffProfile,
)
from referrals.models import Referral, ReferralEvent

MODELS = [
    Institution,
    Department,
    Alliance,
    Membership,
    SpecialtyNetwork,
    Patient,
    StaffProfile,
    Referral,
    ReferralEvent,
]


def snapshot() -> dict:
    """Every column of every demo row, except the automatic timestamps."""

    def columns(model) -> list[str]:
        skip = {"created_at", "updated_at"}
        return [f.attname for f in model._meta.concrete_fields if f.name not in skip]

    return {
        model.__name__: sorted(
            tuple(str(v) for v in row) for row in model.objects.values_list(*columns(model))
        )
        for model in MODELS
    } | {"users": sorted(get_user_model().objects.values_list("username", flat=True))}


@pytest.fixture
def seeded(db):
    """The alliance part of the demo (fast); the full command is run by the test below."""
    load_demo()


def test_seeding_twice_gives_the_same_data(db):
    call_command("seed_demo", force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = snapshot()
    call_command("seed_demo", force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert snapshot() == first
    assert len(first["Patient"]) == 43  # 40 card holders, a permit, a passport, a newborn
    assert len(first["Referral"]) > 100


def test_seeding_is_refused_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not get_user_model().objects.filter(username="admin").exists()


def test_every_demo_row_passes_model_validation(seeded):
    for model in [Institution, Department, Patient, StaffProfile]:
        for obj in model.objects.all():
            obj.full_clean()


@pytest.mark.parametrize(
    "username, role",
    [
        ("office", Role.ALLIANCE_OFFICE),
        ("hospital", Role.HOSPITAL_STAFF),
        ("wanxiang", Role.COMMUNITY_STAFF),
        ("nicheng", Role.COMMUNITY_STAFF),
        ("luchaogang", Role.COMMUNITY_STAFF),
        ("shuyuan", Role.COMMUNITY_STAFF),
        ("situan", Role.COMMUNITY_STAFF),
        ("bureau", Role.BUREAU_VIEWER),
    ],
)
def test_demo_accounts_log_in_with_the_documented_password_and_role(seeded, username, role):
    user = authenticate(RequestFactory().post("/"), username=username, password=DEMO_PASSWORD)
    assert user is not None
    assert user.staff_profile.role == role


def test_admin_is_a_superuser(seeded):
    user = authenticate(RequestFactory().post("/"), username="admin", password=DEMO_PASSWORD)
    assert user is not None and user.is_superuser


def test_bureau_account_belongs_to_pudong(seeded):
    assert (
        get_user_model().objects.get(username="bureau").staff_profile.institution.district.name
        == "浦东新区"
    )


def test_the_lingang_alliance_reproduces_the_papers_capacity_figures(seeded):
    """890 beds for 350,000 residents: 2.54 beds and 4.57 health workers per 1,000 (paper)."""
    summary = selectors.alliance_summary(Alliance.objects.get(name="临港医联体"))
    assert summary["total"].beds == 890
    assert summary["total"].population == 350_000
    assert summary["total"].beds_per_1000 == Decimal("2.54")
    assert summary["total"].health_staff_per_1000 == Decimal("4.57")


def test_the_tree_is_the_papers_9_centers_and_sub_centers_and_39_stations_and_clinics(seeded):
    lingang = Institution.objects.in_alliance(Alliance.objects.get(name="临港医联体").pk)
    centers = lingang.filter(
        kind__in=[InstitutionKind.COMMUNITY_CENTER, InstitutionKind.SUB_CENTER]
    )
    stations = lingang.filter(
        kind__in=[InstitutionKind.COMMUNITY_STATION, InstitutionKind.VILLAGE_CLINIC]
    )
    assert centers.count() == 9 and centers.filter(kind=InstitutionKind.SUB_CENTER).count() == 4
    assert stations.count() == 39
    assert stations.filter(parent__kind=InstitutionKind.SUB_CENTER).count() > 0
    assert not lingang.filter(latitude__isnull=True).exists()
    assert not lingang.filter(longitude__isnull=True).exists()


def test_the_lead_hospital_has_the_departments_the_workflows_need(seeded):
    lead = Institution.objects.get(short_name="临港院区")
    assert lead.approved_beds == 600
    names = set(lead.departments.values_list("name", flat=True))
    for needed in ["心内科（胸痛中心）", "急诊科", "肿瘤科", "新生儿科", "内分泌科"]:
        assert needed in names
    assert lead.departments.get(name="心内科（胸痛中心）").on_duty_phone


def test_the_demo_has_referrals_in_every_state_over_the_last_months(db):
    from django.utils import timezone

    from referrals.choices import Status

    call_command("seed_demo", force=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    states = set(Referral.objects.values_list("status", flat=True))
    assert states == set(Status.values)
    oldest = Referral.objects.order_by("created_at").first().created_at
    assert (timezone.now() - oldest).days > 60
    assert Referral.objects.filter(direction="down", returns_referral__isnull=False).exists()
    # Every demo referral's timeline starts with its creation and ends in its current state.
    for referral in Referral.objects.prefetch_related("events"):
        events = list(referral.events.all())
        assert events[0].action == "create"
        assert events[-1].to_status == referral.status or events[-1].action == "refer_back"

    # The day the demo is loaded, new referrals get numbers after the demo's: none collides
    # (the counter was once set to how many numbers were left, not to the highest one).
    from referrals import services as referral_services

    today = timezone.localdate()
    taken = set(
        Referral.objects.filter(number__startswith=f"ZZ-{today:%Y%m%d}-").values_list(
            "number", flat=True
        )
    )
    assert taken  # the demo leaves some of today's referrals, with gaps between their numbers
    highest = max(int(number[-4:]) for number in taken)
    issued = {referral_services.next_number(today) for _ in range(highest)}
    assert not issued & taken
