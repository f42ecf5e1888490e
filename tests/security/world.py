"""Two alliances in two districts, each with one object of every kind, built through the services.

Side "A" is the home world (浦东新区, with the district's health bureau); side "B" is another
alliance in another district that no user of A has any business with. Both sides are built by
the same code, so every kind of object exists on both: a security test can ask "does a user of A
see B's referral / order / package / ...?" and "does the bureau see A's patients?" alike.

`build_world()` returns a `World`; `World.objects[side][kind]` lists the ids of that kind.
"""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from alliance import services as alliance_services
from alliance import tokens as alliance_tokens
from alliance.choices import InstitutionKind, Role
from alliance.models import ApiToken, ApiTokenKind
from alliance.validators import mask_id_number, mask_phone
from referrals import services as referral_services
from referrals.models import FollowUpTask, ReferralAttachment
from reporting.choices import JobKind
from reporting.models import BedCapacity, InpatientStay, Job, OutpatientVisit
from reporting.services.indicators import recompute
from sharedcenters import services as center_services
from sharedcenters.models import ImagingSlot, InstrumentSet, ServiceItem, SharedCenter
from tests.kit.factories import (
    AllianceFactory,
    DepartmentFactory,
    DistrictFactory,
    HospitalFactory,
    InstitutionFactory,
    MembershipFactory,
    PatientFactory,
    StationFactory,
    UserFactory,
    staff_user,
)

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FACT_YEAR = timezone.localdate().year - 1

# Personas of each side, by role; the bureau and the superuser stand outside both.
PERSONAS = ["clinic", "triage", "lab", "imaging", "cssd", "office"]

# Patient names no template or fixture text contains by accident.
PATIENT_NAMES = {
    "A": ["张伟", "李芳", "王强"],
    "B": ["钱多多", "孙晓梅", "周大勇"],
}


@dataclass
class World:
    users: dict[str, object] = field(default_factory=dict)  # "A.clinic", "bureau", "root"
    tokens: dict[str, str] = field(default_factory=dict)
    # side → kind → ids (kinds: patient, referral, attachment, follow_up, center, item, order,
    # slot, package, cycle, supply_request, institution, department, alliance, job_import,
    # job_recompute, notification, indicator_institution, indicator_alliance; api_token: digests)
    objects: dict[str, dict[str, list[int | str]]] = field(default_factory=dict)
    # side → handy instances (hospital, center, patient, referral, attachment, lab, ...)
    things: dict[str, dict[str, object]] = field(default_factory=dict)
    # side → what identifies its patients: names, identity numbers and phones (full and masked).
    patient_secrets: dict[str, list[str]] = field(default_factory=dict)
    # side → numbers and codes of its patient-level records (referrals, orders, packages...).
    markers: dict[str, list[str]] = field(default_factory=dict)

    def user(self, key: str):
        return self.users[key]

    def ids(self, side: str, kind: str) -> list[int]:
        return self.objects[side][kind]

    def first(self, side: str, kind: str) -> int:
        return self.objects[side][kind][0]


_serial = itertools.count(1)


def _item(center, code, name, **extra):
    return ServiceItem.objects.create(
        center=center,
        code=code,
        name=name,
        tat_routine_hours=Decimal(24),
        tat_urgent_hours=Decimal(2),
        price=Decimal("20.00"),
        **extra,
    )


def _build_side(world: World, side: str, district) -> None:
    tag = side.lower()
    hospital = HospitalFactory(name=f"{side}院区", code=f"{side}-HOSP", district=district)
    cardiology = DepartmentFactory(institution=hospital, name=f"{side}心内科")
    center = InstitutionFactory(
        name=f"{side}社区卫生服务中心", code=f"{side}-CHC", district=district
    )
    station = StationFactory(
        name=f"{side}村卫生室", code=f"{side}-STN", parent=center, district=district
    )
    general = DepartmentFactory(
        institution=center, name=f"{side}全科", specialty="general_practice"
    )
    alliance = AllianceFactory(name=f"{side}医联体", lead_institution=hospital)
    for member in (hospital, center):
        MembershipFactory(alliance=alliance, institution=member)

    users = {
        "clinic": staff_user(Role.COMMUNITY_STAFF, center, f"{tag}_clinic", department=general),
        "triage": staff_user(Role.HOSPITAL_STAFF, hospital, f"{tag}_triage", department=cardiology),
        "lab": staff_user(Role.CENTER_STAFF, hospital, f"{tag}_lab"),
        "imaging": staff_user(Role.CENTER_STAFF, hospital, f"{tag}_imaging"),
        "cssd": staff_user(Role.CENTER_STAFF, hospital, f"{tag}_cssd"),
        "office": staff_user(Role.ALLIANCE_OFFICE, hospital, f"{tag}_office"),
    }
    for key, user in users.items():
        world.users[f"{side}.{key}"] = user
    clinic, triage, office = users["clinic"], users["triage"], users["office"]

    names = PATIENT_NAMES[side]
    patient = PatientFactory(name=names[0], home_institution=center)
    station_patient = PatientFactory(name=names[1], home_institution=station)
    hospital_patient = PatientFactory(name=names[2], home_institution=hospital)
    patients = [patient, station_patient, hospital_patient]
    world.patient_secrets[side] = [
        secret
        for p in patients
        for secret in (
            p.name,
            p.id_number,
            mask_id_number(p.id_number),
            p.phone,
            mask_phone(p.phone),
        )
    ]

    # --- referrals: a submitted one with an attachment, a completed one referred back down
    # (whose acceptance creates follow-up tasks), and a draft.
    def create(**extra):
        referral, _ = referral_services.referral_create(
            actor=clinic,
            patient=patient,
            to_institution=hospital,
            to_department=cardiology,
            urgency="urgent",
            diagnosis_code="I20.0",
            diagnosis_text="不稳定型心绞痛",
            reason="反复胸痛",
            clinical_summary="胸痛2小时",
            consent=True,
            **extra,
        )
        return referral

    submitted = create(submit=True)
    attachment = referral_services.referral_attach(
        actor=clinic,
        referral=submitted,
        upload=SimpleUploadedFile("echo.pdf", PDF, content_type="application/pdf"),
    )
    up = create(submit=True)
    up = referral_services.referral_accept(actor=triage, referral=up)
    up = referral_services.referral_schedule(
        actor=triage,
        referral=up,
        appointment_at=timezone.now() + datetime.timedelta(days=1),
        place="门诊2楼",
    )
    up = referral_services.referral_arrive(actor=triage, referral=up)
    up = referral_services.referral_complete(
        actor=triage,
        referral=up,
        outcome="admitted",
        summary="PCI术后稳定",
        follow_up=[{"kind": "visit", "due_in_days": 7, "description": "上门随访"}],
    )
    back, _ = referral_services.referral_refer_back(actor=triage, referral=up, submit=True)
    back = referral_services.referral_accept(actor=clinic, referral=back)
    draft = create()
    referrals = [submitted, up, back, draft]
    follow_ups = list(FollowUpTask.objects.filter(referral=back))
    assert follow_ups, "accepting the downward referral creates its follow-up tasks"

    # --- shared centers, their catalog, a slot; orders of each kind
    def shared(kind, name):
        return SharedCenter.objects.create(
            name=f"{side}{name}",
            kind=kind,
            institution=hospital,
            alliance=alliance,
            phone="021-68180000",
        )

    lab, imaging, cssd = shared("lab", "临检中心"), shared("imaging", "影像中心"), None
    ecg = shared("ecg", "心电诊断中心")
    cssd = shared("sterilization", "消毒供应中心")
    lab.staff.add(users["lab"])
    imaging.staff.add(users["imaging"])
    ecg.staff.add(users["imaging"])
    cssd.staff.add(users["cssd"])
    cbc = _item(lab, f"{side}L1", "血常规", specimen_type="blood")
    ct = _item(imaging, f"{side}I1", "头颅CT平扫", modality="ct")
    ecg12 = _item(ecg, f"{side}E1", "十二导联心电图", modality="ecg")
    start = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
    start += datetime.timedelta(days=2)
    slot = ImagingSlot.objects.create(
        center=imaging,
        modality="ct",
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        capacity=10,
        priority_reserved=2,
    )

    lab_order = center_services.order_create(
        actor=clinic, center=lab, patient=patient, items=[cbc], referral=submitted
    )
    lab_order = center_services.order_collect(actor=clinic, order=lab_order)
    lab_order = center_services.order_receive(actor=users["lab"], order=lab_order)
    lab_order = center_services.order_report(
        actor=users["lab"],
        order=lab_order,
        results=[
            {"analyte": "白细胞", "value": "6.2", "unit": "10^9/L", "reference_range": "3.5-9.5"}
        ],
    )
    ct_order = center_services.order_create(
        actor=clinic, center=imaging, patient=station_patient, items=[ct]
    )
    ct_order = center_services.order_schedule(actor=clinic, order=ct_order, slot=slot)
    ecg_order = center_services.order_create(
        actor=triage, center=ecg, patient=hospital_patient, items=[ecg12]
    )
    orders = [lab_order, ct_order, ecg_order]

    # --- sterilization: packages through a released cycle, dispatched and used on a patient;
    # a supply request of the centre.
    kit = InstrumentSet.objects.create(
        center=cssd,
        code=f"{side}S1",
        name="清创缝合包",
        contents="持针器1、组织剪1",
        method="steam",
        shelf_life_days=14,
    )
    cssd_user = users["cssd"]
    codes = [f"{side}PKG{n:03d}" for n in (1, 2, 3)]
    for code in codes:
        center_services.package_register(
            actor=cssd_user, instrument_set=kit, owner=center, barcode=code
        )
    for step in ("clean", "pack"):
        center_services.packages_move(actor=cssd_user, barcodes=codes, action=step)
    cycle = center_services.cycle_start(
        actor=cssd_user,
        center=cssd,
        sterilizer="1号灭菌器",
        cycle_number=f"{side}-C1",
        method="steam",
    )
    center_services.packages_move(actor=cssd_user, barcodes=codes, action="sterilize", cycle=cycle)
    center_services.cycle_record_results(
        actor=cssd_user, cycle=cycle, physical="passed", chemical="passed", biological="passed"
    )
    center_services.packages_move(actor=cssd_user, barcodes=codes, action="store")
    supply_request = center_services.supply_request_create(
        actor=clinic, center=cssd, lines=[(kit, 2)], note="换药用"
    )
    center_services.packages_move(
        actor=cssd_user, barcodes=codes[:1], action="dispatch", supply_request=supply_request
    )
    center_services.packages_move(actor=clinic, barcodes=codes[:1], action="receive_by_member")
    packages = center_services.packages_move(
        actor=clinic, barcodes=codes[:1], action="use", patient=patient, procedure="清创缝合"
    )
    from sharedcenters.models import Package

    package_ids = list(Package.objects.filter(barcode__in=codes).values_list("pk", flat=True))
    assert packages[0].used_for_patient_id == patient.pk

    # --- reporting: facts for last year (the indicators are recomputed once both sides exist),
    # an import and a recomputation job of the office; notifications in two inboxes.
    for n, institution in enumerate((hospital, center)):
        OutpatientVisit.objects.create(
            institution=institution,
            record_id=f"{side}V{n}",
            visit_date=datetime.date(FACT_YEAR, 3, 1),
            visit_count=10,
            total_cost=Decimal(1000),
        )
    BedCapacity.objects.create(
        institution=hospital, effective_from=datetime.date(FACT_YEAR, 1, 1), open_beds=10
    )
    InpatientStay.objects.create(
        institution=hospital,
        stay_id=f"{side}Z1",
        admit_date=datetime.date(FACT_YEAR, 3, 1),
        discharge_date=datetime.date(FACT_YEAR, 3, 11),
        total_cost=Decimal(5000),
    )
    job_import = Job.objects.create(
        kind=JobKind.IMPORT,
        fact_kind="visits",
        file_name=f"{side}-visits.csv",
        requested_by=office,
        status="failed",
        errors=[{"row": 2, "column": "institution_code", "message": "unknown"}],
    )
    job_recompute = Job.objects.create(
        kind=JobKind.RECOMPUTE, year=FACT_YEAR, institution=hospital, requested_by=office
    )
    notes = alliance_services.notify(
        recipients=[clinic, triage],
        key=f"{side}-referral-{submitted.pk}",
        title=f"转诊 {submitted.number}：{patient.name}",
        url=f"/referrals/{submitted.pk}/",
    )

    # API tokens: the office's machine token for the hospital's system (on its own service
    # account) and the clinic's personal token; their names show only on the token pages.
    machine, _key = alliance_tokens.machine_token_create(
        actor=office, institution=hospital, name=f"{side}院区HIS接口"
    )
    personal, _key = ApiToken.objects.create(
        user=clinic,
        kind=ApiTokenKind.PERSONAL,
        name=f"{side}随访导出脚本",
        expiry=datetime.timedelta(days=90),
    )

    world.markers[side] = [
        *(r.number for r in referrals),
        *(o.number for o in orders),
        supply_request.number,
        *codes,
        cycle.cycle_number,
        job_import.file_name,
        machine.name,
        personal.name,
    ]
    world.things[side] = {
        "district": district,
        "hospital": hospital,
        "center": center,
        "station": station,
        "cardiology": cardiology,
        "alliance": alliance,
        "patient": patient,
        "station_patient": station_patient,
        "referral": submitted,
        "completed": up,
        "back": back,
        "draft": draft,
        "attachment": attachment,
        "lab": lab,
        "imaging": imaging,
        "ecg": ecg,
        "cssd": cssd,
        "kit": kit,
        "cbc": cbc,
        "ct": ct,
        "slot": slot,
        "lab_order": lab_order,
        "ct_order": ct_order,
        "cycle": cycle,
        "supply_request": supply_request,
        "package_codes": codes,
        "job_import": job_import,
        "job_recompute": job_recompute,
    }
    world.objects[side] = {
        "api_token": [machine.digest, personal.digest],
        "district": [district.pk],
        "kit": [kit.pk],
        "institution": [hospital.pk, center.pk, station.pk],
        "department": [cardiology.pk, general.pk],
        "alliance": [alliance.pk],
        "patient": [p.pk for p in patients],
        "referral": [r.pk for r in referrals],
        "attachment": [attachment.pk],
        "follow_up": [t.pk for t in follow_ups],
        "center": [lab.pk, imaging.pk, ecg.pk, cssd.pk],
        "order": [o.pk for o in orders],
        "slot": [slot.pk],
        "package": package_ids,
        "cycle": [cycle.pk],
        "supply_request": [supply_request.pk],
        "job_import": [job_import.pk],
        "job_recompute": [job_recompute.pk],
        "notification": [n.pk for n in notes],
    }


def build_world() -> World:
    """Both sides, the bureau of A's district and a superuser; every user gets an API token."""
    world = World()
    pudong = DistrictFactory(code="310115", name="浦东新区")
    chongming = DistrictFactory(code="310151", name="崇明区", population=630000)
    _build_side(world, "A", pudong)
    _build_side(world, "B", chongming)
    bureau_office = InstitutionFactory(
        name="浦东新区卫生健康委员会",
        code="A-BUREAU",
        kind=InstitutionKind.OTHER,
        district=pudong,
        approved_beds=0,
        health_technical_staff=0,
        population_served=None,
    )
    world.users["bureau"] = staff_user(Role.BUREAU_VIEWER, bureau_office, "bureau_viewer")
    world.users["root"] = UserFactory(username="root", is_superuser=True, is_staff=True)
    alliance_services.notify(
        recipients=[world.users["bureau"]], key="bureau-welcome", title="季度报表已更新"
    )
    recompute(FACT_YEAR)
    from reporting.models import IndicatorValue

    for side in ("A", "B"):
        things = world.things[side]
        institutions = world.objects[side]["institution"]
        values = IndicatorValue.objects.filter(institution_id__in=institutions)
        world.objects[side]["indicator_institution"] = list(values.values_list("pk", flat=True))
        values = IndicatorValue.objects.filter(alliance=things["alliance"])
        world.objects[side]["indicator_alliance"] = list(values.values_list("pk", flat=True))
        assert world.objects[side]["indicator_institution"], "recompute wrote no values"
        assert world.objects[side]["indicator_alliance"], "recompute wrote no alliance values"
    for key, user in world.users.items():
        world.tokens[key] = ApiToken.objects.create(user=user)[1]
    assert ReferralAttachment.objects.count() == 2
    return world
