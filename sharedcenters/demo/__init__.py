"""Demo shared centers for the Lingang alliance: catalogs, slots, three months of orders with
realistic turnaround and a few critical values, sterilization cycles with two recalls, and the
community centers' supply requests (one fulfilled, one half sent, one open, one cancelled).

Orders are created through the services with explicit times (`at=`), so every step has its event
and the turnaround shown is computed from them. Idempotent: skipped once demo orders exist.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from alliance.models import Alliance, Institution

from ..choices import CenterKind
from ..models import (
    ExamOrder,
    ImagingSlot,
    InstrumentSet,
    Package,
    ServiceItem,
    SharedCenter,
    SupplyRequest,
)
from .orders import DAYS, create_orders
from .sterilization import create_sterilization, create_supply_requests

CENTERS = [
    # kind, name, demo account, phone, on-duty phone
    (CenterKind.LAB, "临检中心", "lab", "021-38297009", "13901700009"),
    (CenterKind.IMAGING, "影像中心", "imaging", "021-38297008", "13901700008"),
    (CenterKind.ECG, "心电诊断中心", "imaging", "021-38297010", "13901700010"),
    (CenterKind.STERILIZATION, "消毒供应中心", "cssd", "021-38297011", ""),
]
# code, name, modality or specimen, routine hours, urgent hours, price
CATALOG = {
    CenterKind.LAB: [
        ("L001", "血常规", "blood", 2, "0.5", "20.00"),
        ("L002", "肝功能", "serum", 6, 2, "60.00"),
        ("L003", "肾功能", "serum", 6, 2, "45.00"),
        ("L004", "电解质", "serum", 4, 1, "30.00"),
        ("L005", "空腹血糖", "serum", 4, 1, "8.00"),
        ("L006", "糖化血红蛋白", "blood", 24, 4, "70.00"),
        ("L007", "尿常规", "urine", 2, "0.5", "15.00"),
        ("L008", "心肌肌钙蛋白I", "serum", 2, "0.5", "120.00"),
        ("L009", "血脂四项", "serum", 24, 4, "50.00"),
    ],
    CenterKind.IMAGING: [
        ("I001", "头颅CT平扫", "ct", 24, 1, "260.00"),
        ("I002", "胸部CT平扫", "ct", 24, 1, "280.00"),
        ("I003", "腹部CT增强", "ct", 48, 4, "680.00"),
        ("I004", "头颅MRI平扫", "mri", 48, 4, "650.00"),
        ("I005", "膝关节MRI", "mri", 48, 4, "680.00"),
        ("I006", "胸部DR正位", "dr", 12, 1, "60.00"),
        ("I007", "腹部超声", "ultrasound", 4, 1, "120.00"),
        ("I008", "心脏彩超", "cardiac_ultrasound", 24, 2, "220.00"),
    ],
    CenterKind.ECG: [
        ("E001", "十二导联心电图", "ecg", 1, "0.25", "25.00"),
        ("E002", "动态心电图（24小时）", "ecg", 48, 24, "180.00"),
    ],
}
SPECIMENS = {"blood", "serum", "urine"}
# Places per hourly slot, 08:00-16:00 on weekdays.
SLOT_CAPACITY = {"ct": 6, "mri": 3, "dr": 8, "ultrasound": 6, "cardiac_ultrasound": 4}
SETS = [
    ("S001", "清创缝合包", "持针器1、组织剪1、线剪1、有齿镊2、无齿镊1、弯盘1", "steam", 14),
    ("S002", "换药包", "弯盘2、镊子2、纱布10、棉球20", "steam", 14),
    ("S003", "妇科检查包", "窥阴器1、宫颈钳1、卵圆钳1、弯盘1", "steam", 14),
    ("S004", "腹腔镜器械", "腹腔镜抓钳2、分离钳1、剪刀1", "plasma", 180),
]


def _centers(lead: Institution, alliance: Alliance) -> dict[str, SharedCenter]:
    User = get_user_model()
    centers = {}
    for kind, name, account, phone, on_duty in CENTERS:
        center, _ = SharedCenter.objects.update_or_create(
            alliance=alliance,
            name=name,
            defaults={"kind": kind, "institution": lead, "phone": phone, "on_duty_phone": on_duty},
        )
        center.staff.add(User.objects.get(username=account))
        centers[kind] = center
        for code, item_name, what, routine, urgent, price in CATALOG.get(kind, []):
            kind_field = "specimen_type" if what in SPECIMENS else "modality"
            ServiceItem.objects.update_or_create(
                center=center,
                code=code,
                defaults={
                    "name": item_name,
                    kind_field: what,
                    "price": Decimal(price),
                    "tat_routine_hours": Decimal(routine),
                    "tat_urgent_hours": Decimal(urgent),
                },
            )
    for code, name, contents, method, shelf_life in SETS:
        InstrumentSet.objects.update_or_create(
            center=centers[CenterKind.STERILIZATION],
            code=code,
            defaults={
                "name": name,
                "contents": contents,
                "method": method,
                "shelf_life_days": shelf_life,
            },
        )
    return centers


def _slots(center: SharedCenter, first: datetime.date, last: datetime.date) -> None:
    existing = set(center.slots.values_list("modality", "starts_at"))
    slots = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            for hour in range(8, 16):
                start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
                for modality, capacity in SLOT_CAPACITY.items():
                    if (modality, start) in existing:
                        continue
                    slots.append(
                        ImagingSlot(
                            center=center,
                            modality=modality,
                            starts_at=start,
                            ends_at=start + datetime.timedelta(hours=1),
                            capacity=capacity,
                            priority_reserved=capacity * center.priority_share_percent // 100,
                        )
                    )
        day += datetime.timedelta(days=1)
    ImagingSlot.objects.bulk_create(slots)


def load_demo() -> dict[str, int]:
    lead = Institution.objects.get(short_name="临港院区")
    alliance = Alliance.objects.get(name="临港医联体")
    centers = _centers(lead, alliance)
    today = timezone.localdate()
    _slots(
        centers[CenterKind.IMAGING],
        today - datetime.timedelta(days=DAYS + 1),
        today + datetime.timedelta(days=21),
    )
    if not ExamOrder.objects.filter(center__alliance=alliance).exists():
        now = timezone.now()
        with transaction.atomic():
            create_orders(centers, now)
        members = list(
            Institution.objects.filter(short_name__in=["万祥", "泥城", "芦潮港", "书院"]).order_by(
                "pk"
            )
        )
        with transaction.atomic():
            create_sterilization(centers[CenterKind.STERILIZATION], [lead, *members], now)
            create_supply_requests(centers[CenterKind.STERILIZATION], members, timezone.now())
    return {
        "exam orders": ExamOrder.objects.count(),
        "imaging slots": ImagingSlot.objects.count(),
        "instrument packages": Package.objects.count(),
        "supply requests": SupplyRequest.objects.count(),
    }
