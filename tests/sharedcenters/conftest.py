"""Shared-center fixtures: the world's alliance gets a lab, an imaging, an ECG and a sterilization
center at the lead hospital, each with a small catalog; `center_staff` works at the lab."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from alliance.choices import Role
from sharedcenters import services
from sharedcenters.models import (
    ImagingSlot,
    InstrumentSet,
    Package,
    ServiceItem,
    SharedCenter,
)
from tests.kit.factories import DepartmentFactory, staff_user

ALERTS: list[tuple[str, str]] = []


def record_alert(phone: str, message: str) -> None:
    """Alert backend for tests: keeps what a gateway would have been sent."""
    ALERTS.append((phone, message))


@pytest.fixture
def critical_alerts(settings):
    settings.CRITICAL_VALUE_ALERT_BACKEND = "tests.sharedcenters.conftest.record_alert"
    ALERTS.clear()
    return ALERTS


def _item(center, code, name, routine, urgent, price, **extra):
    return ServiceItem.objects.create(
        center=center,
        code=code,
        name=name,
        tat_routine_hours=Decimal(routine),
        tat_urgent_hours=Decimal(urgent),
        price=Decimal(price),
        **extra,
    )


@pytest.fixture
def centers(world, center_staff):
    hospital, alliance = world["hospital"], world["alliance"]

    def center(kind, name):
        return SharedCenter.objects.create(
            name=name, kind=kind, institution=hospital, alliance=alliance, phone="021-68180000"
        )

    lab = center("lab", "临检中心")
    imaging = center("imaging", "影像中心")
    ecg = center("ecg", "心电诊断中心")
    cssd = center("sterilization", "消毒供应中心")
    lab.staff.add(center_staff)
    return {
        "lab": lab,
        "imaging": imaging,
        "ecg": ecg,
        "cssd": cssd,
        "cbc": _item(lab, "L001", "血常规", 4, 1, "20.00", specimen_type="blood"),
        "potassium": _item(lab, "L002", "血钾", 6, 1, "8.00", specimen_type="serum"),
        "ct_head": _item(imaging, "I001", "头颅CT平扫", 24, 2, "260.00", modality="ct"),
        "mri_knee": _item(imaging, "I002", "膝关节MRI", 48, 4, "650.00", modality="mri"),
        "ecg12": _item(ecg, "E001", "十二导联心电图", 2, "0.5", "25.00", modality="ecg"),
    }


@pytest.fixture
def imaging_staff(centers, world):
    user = staff_user(Role.CENTER_STAFF, world["hospital"], username="imaging_staff")
    centers["imaging"].staff.add(user)
    centers["ecg"].staff.add(user)
    return user


@pytest.fixture
def cssd_staff(centers, world):
    user = staff_user(Role.CENTER_STAFF, world["hospital"], username="cssd_staff")
    centers["cssd"].staff.add(user)
    return user


@pytest.fixture
def ordering_department(world):
    return DepartmentFactory(
        institution=world["center"],
        name="全科门诊",
        specialty="general_practice",
        on_duty_phone="13801700001",
    )


@pytest.fixture
def make_order(world, centers, clinic_doctor):
    """An order from the world's centre for its patient: `make_order("lab")`."""

    def make(kind: str = "lab", *, actor=None, items=None, patient=None, **extra):
        default_items = {"lab": ["cbc", "potassium"], "imaging": ["ct_head"], "ecg": ["ecg12"]}
        return services.order_create(
            actor=actor or clinic_doctor,
            center=centers[kind],
            patient=patient or world["patient"],
            items=[centers[name] for name in (items or default_items[kind])],
            **extra,
        )

    return make


@pytest.fixture
def slot(centers):
    """A CT slot tomorrow morning: 10 places, 3 reserved for the green channel."""
    start = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
    start += datetime.timedelta(days=1)
    return ImagingSlot.objects.create(
        center=centers["imaging"],
        modality="ct",
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=30),
        capacity=10,
        priority_reserved=3,
    )


LAB_PATH = {
    "ordered": [],
    "collected": ["collect"],
    "received": ["collect", "receive"],
    "rejected": ["collect", "reject"],
    "in_progress": ["collect", "receive", "start"],
    "reported": ["collect", "receive", "start", "report"],
    "acknowledged": ["collect", "receive", "start", "report", "acknowledge"],
    "cancelled": ["cancel"],
}

NORMAL_RESULTS = [
    {"analyte": "白细胞", "value": "6.2", "unit": "10^9/L", "reference_range": "3.5-9.5"},
    {"analyte": "血钾", "value": "4.1", "unit": "mmol/L", "reference_range": "3.5-5.3"},
]
CRITICAL_RESULTS = [
    {
        "analyte": "血钾",
        "value": "6.9",
        "unit": "mmol/L",
        "reference_range": "3.5-5.3",
        "flag": "critical",
    },
]


@pytest.fixture
def lab_order_in(make_order, clinic_doctor, center_staff):
    """`lab_order_in("reported")`: a lab order brought to that state through the services."""

    def make(status: str = "ordered", *, critical: bool = False, **extra):
        order = make_order("lab", **extra)
        steps = {
            "collect": (services.order_collect, clinic_doctor, {}),
            "receive": (services.order_receive, center_staff, {}),
            "reject": (services.order_reject, center_staff, {"reason": "hemolysis"}),
            "start": (services.order_start, center_staff, {}),
            "report": (
                services.order_report,
                center_staff,
                {"results": CRITICAL_RESULTS if critical else NORMAL_RESULTS},
            ),
            "acknowledge": (services.order_acknowledge, clinic_doctor, {}),
            "cancel": (services.order_cancel, clinic_doctor, {"reason": "患者未到"}),
        }
        for step in LAB_PATH[status]:
            service, actor, kwargs = steps[step]
            order = service(actor=actor, order=order, **kwargs)
        return order

    return make


@pytest.fixture
def instrument_set(centers):
    return InstrumentSet.objects.create(
        center=centers["cssd"],
        code="S001",
        name="清创缝合包",
        contents="持针器1、组织剪1、镊子2",
        method="steam",
        shelf_life_days=14,
    )


@pytest.fixture
def make_packages(instrument_set, cssd_staff, world):
    """`make_packages(3)`: packages owned by the world's centre, registered at the center."""

    def make(count: int = 3, owner=None, prefix: str = "PKG"):
        return [
            services.package_register(
                actor=cssd_staff,
                instrument_set=instrument_set,
                owner=owner or world["center"],
                barcode=f"{prefix}{n:05d}",
            )
            for n in range(1, count + 1)
        ]

    return make


# --- supply requests -------------------------------------------------------------------------


@pytest.fixture
def dressing_set(centers):
    """A second set of the sterilization center."""
    return InstrumentSet.objects.create(
        center=centers["cssd"],
        code="S002",
        name="换药包",
        contents="弯盘2、镊子2、纱布10",
        method="steam",
        shelf_life_days=14,
    )


@pytest.fixture
def stored_packages(instrument_set, cssd_staff, centers, world):
    """`stored_packages(3, owner=…, kit=…, prefix=…)`: registered, cleaned, packed, sterilized in
    a released cycle and on the center's shelf: ready to dispatch. The world's centre owns them
    unless told; `kit` is the instrument set (the `instrument_set` fixture by default)."""
    cycle_numbers = itertools.count(1)

    def make(count: int = 3, *, owner=None, kit=None, prefix: str = "STK") -> list[Package]:
        kit = kit or instrument_set
        codes = [
            services.package_register(
                actor=cssd_staff,
                instrument_set=kit,
                owner=owner or world["center"],
                barcode=f"{prefix}{n:05d}",
            ).barcode
            for n in range(1, count + 1)
        ]
        for step in ("clean", "pack"):
            services.packages_move(actor=cssd_staff, barcodes=codes, action=step)
        cycle = services.cycle_start(
            actor=cssd_staff,
            center=kit.center,
            sterilizer="脉动真空灭菌器1号",
            cycle_number=f"STOCK-{next(cycle_numbers)}",
            method=kit.method,
        )
        services.packages_move(actor=cssd_staff, barcodes=codes, action="sterilize", cycle=cycle)
        services.cycle_record_results(
            actor=cssd_staff,
            cycle=cycle,
            physical="passed",
            chemical="passed",
            biological="passed",
        )
        services.packages_move(actor=cssd_staff, barcodes=codes, action="store")
        return list(Package.objects.filter(barcode__in=codes).order_by("barcode"))

    return make


@pytest.fixture
def make_supply_request(centers, instrument_set, clinic_doctor):
    """`make_supply_request([(instrument_set, 3)])`: a request of the world's centre to the
    sterilization center (two of `instrument_set` unless told)."""

    def make(lines=None, *, actor=None, **extra):
        return services.supply_request_create(
            actor=actor or clinic_doctor,
            center=centers["cssd"],
            lines=lines if lines is not None else [(instrument_set, 2)],
            **extra,
        )

    return make
