"""The bench's synthetic data at BENCH_SCALE, loaded once into the bench database: the demo
plus institutions, patients and referrals, then the shared-center demo plus orders and
sterilization packages. Loaded without the services (bench/db.py's bulk_load), then the
database settles (VACUUM ANALYZE, as autovacuum would)."""

import datetime
import io
import itertools

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from stdnum.cn import ric

from alliance.choices import InstitutionKind, Specialty
from alliance.demo import load_demo
from alliance.models import Department, District, Institution, Patient
from alliance.visibility import backfill_visibility
from bench import db as benchdb
from referrals.choices import Direction, Status, Urgency
from referrals.models import Referral
from sharedcenters.choices import OrderStatus
from sharedcenters.models import ExamOrder, ExamOrderItem, InstrumentSet, Package, SharedCenter


def load(scale: float, stdout) -> None:
    """Load what is missing at `scale` (the first run only; later runs find it there)."""
    counts = {
        "institutions": max(10, round(300 * scale)),
        "patients": max(1000, round(20000 * scale)),
        "referrals": round(200000 * scale),
        "orders": round(500000 * scale),
    }
    if not Referral.objects.filter(number__startswith="BN-").exists():
        stdout.write("Loading the bench data (first run only) ...")
        with transaction.atomic():
            load_demo()
            with benchdb.bulk_load():
                scale_institutions(counts["institutions"])
                scale_patients(counts["patients"])
                scale_referrals(counts["referrals"])
            # Loaded without the services: their PatientAccess rows written in one go.
            backfill_visibility(Referral.objects.filter(number__startswith="BN-"))
        vacuum()
    if not ExamOrder.objects.filter(number__startswith="BO-").exists():
        stdout.write("Loading the shared-center bench data (first run only) ...")
        with transaction.atomic():
            call_command("seed_demo", stdout=io.StringIO())
            with benchdb.bulk_load():
                scale_orders(counts["orders"])
        vacuum()


def vacuum() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def scale_institutions(count: int) -> None:
    district = District.objects.get(code="310115")
    centers = Institution.objects.bulk_create(
        Institution(
            name=f"压测社区卫生服务中心{n}",
            code=f"BENCH-{n:05d}",
            district=district,
            kind=InstitutionKind.COMMUNITY_CENTER,
            population_served=1000,
        )
        for n in range(count)
    )
    specialties = [("全科", Specialty.GENERAL_PRACTICE), ("内科", Specialty.INTERNAL_MEDICINE)]
    Department.objects.bulk_create(
        Department(institution=c, name=name, specialty=specialty, phone="021-58000000")
        for c in centers
        for name, specialty in specialties
    )


def scale_patients(count: int) -> None:
    home = Institution.objects.get(short_name="万祥")
    rows = []
    for n in range(count):
        birth = datetime.date(2000, 1, 1) + datetime.timedelta(days=n // 1000)
        body = f"310115{birth:%Y%m%d}{n % 1000:03d}"
        rows.append(
            Patient(
                name=f"压测{n}",
                gender="male" if n % 2 else "female",
                birth_date=birth,
                id_number=body + ric.calc_check_digit(body + "0"),
                home_institution=home,
            )
        )
    Patient.objects.bulk_create(rows, ignore_conflicts=True)


def scale_referrals(count: int) -> None:
    """Referrals from the demo's primary institutions to the lead hospital, in every state."""
    lead = Institution.objects.get(short_name="临港院区")
    departments = list(lead.departments.filter(accepts_referrals=True))
    patients = list(
        Patient.objects.exclude(name__startswith="压测").select_related("home_institution")
    )
    user = get_user_model().objects.get(username="wanxiang")
    # A year's referrals as a lead hospital sees them: most closed, about 8 % still open.
    weights = {
        Status.COMPLETED: 80,
        Status.REJECTED: 5,
        Status.CANCELLED: 4,
        Status.EXPIRED: 2,
        Status.NO_SHOW: 1,
        Status.SUBMITTED: 2,
        Status.ACCEPTED: 2,
        Status.SCHEDULED: 3,
        Status.ARRIVED: 1,
    }
    states = [state for state, weight in weights.items() for _ in range(weight)]
    urgencies, now = list(Urgency), timezone.now()

    closed = {
        Status.COMPLETED,
        Status.REJECTED,
        Status.CANCELLED,
        Status.EXPIRED,
        Status.NO_SHOW,
    }

    def referral(n: int) -> Referral:
        patient = patients[n % len(patients)]
        state = states[n % len(states)]
        submitted = now - datetime.timedelta(minutes=n)
        return Referral(
            number=f"BN-{n:09d}",
            status=state,
            direction=Direction.UP,
            urgency=urgencies[n % 3],
            patient=patient,
            referring_user=user,
            from_institution=patient.home_institution,
            to_institution=lead,
            to_department=departments[n % len(departments)],
            diagnosis_code="I20.0",
            diagnosis_text="不稳定型心绞痛",
            reason="压测",
            consent=True,
            submitted_at=submitted,
            due_at=now + datetime.timedelta(minutes=240 - n % 600),
            closed_at=submitted + datetime.timedelta(days=1) if state in closed else None,
        )

    rows = (referral(n) for n in range(count))
    while batch := list(itertools.islice(rows, 5000)):
        Referral.objects.bulk_create(batch)


def scale_orders(count: int) -> None:
    """A year and a half of lab orders from every member: about 3 % still open."""
    lab = SharedCenter.objects.get(kind="lab", name="临检中心")
    items = list(lab.items.order_by("code"))
    patients = list(
        Patient.objects.exclude(name__startswith="压测").select_related("home_institution")
    )
    user = get_user_model().objects.get(username="wanxiang")
    states = (
        [OrderStatus.ACKNOWLEDGED] * 90
        + [OrderStatus.REPORTED] * 7
        + [
            OrderStatus.COLLECTED,
            OrderStatus.RECEIVED,
            OrderStatus.IN_PROGRESS,
        ]
    )
    now = timezone.now()

    def order(n: int) -> ExamOrder:
        patient = patients[n % len(patients)]
        state = states[n % len(states)]
        ordered = now - datetime.timedelta(minutes=n)
        done = state in (OrderStatus.ACKNOWLEDGED, OrderStatus.REPORTED)
        return ExamOrder(
            number=f"BO-{n:09d}",
            center=lab,
            status=state,
            priority="urgent" if n % 9 == 0 else "routine",
            patient=patient,
            ordering_institution=patient.home_institution,
            ordering_user=user,
            target_hours=4,
            ordered_at=ordered,
            collected_at=ordered,
            received_at=ordered + datetime.timedelta(hours=1),
            due_at=ordered + datetime.timedelta(hours=5),
            reported_at=ordered + datetime.timedelta(hours=3) if done else None,
        )

    # Packages waiting at the sterilization center, for the batch-scan figure.
    instrument_set = InstrumentSet.objects.filter(method="steam").first()
    Package.objects.bulk_create(
        Package(
            barcode=f"BP-{n:06d}",
            instrument_set=instrument_set,
            owner=patients[n % len(patients)].home_institution,
            location=instrument_set.center.institution,
            status="received",
        )
        for n in range(300)
    )
    rows = (order(n) for n in range(count))
    while batch := list(itertools.islice(rows, 5000)):
        created = ExamOrder.objects.bulk_create(batch)
        ExamOrderItem.objects.bulk_create(
            ExamOrderItem(order=o, item=items[o.pk % len(items)], price=1) for o in created
        )
