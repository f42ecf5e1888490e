"""Demo shared centers for the Lingang alliance: catalogs, slots, three months of orders with
realistic turnaround and a few critical values, sterilization cycles with two recalls, and the
community centers' supply requests (one fulfilled, one half sent, one open, one cancelled).

Orders are created through the services with explicit times (`at=`), so every step has its event
and the turnaround shown is computed from them. Idempotent: skipped once demo orders exist.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alliance.choices import Role
from alliance.models import Alliance, Institution, Patient
from core.errors import IllegalTransition

from . import services
from .choices import CenterKind, PackageAction
from .models import (
    ExamOrder,
    ImagingSlot,
    InstrumentSet,
    Package,
    PackageEvent,
    ServiceItem,
    SharedCenter,
    SterilizationCycle,
    SupplyRequest,
)

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
ORDERERS = ["wanxiang", "nicheng", "luchaogang", "shuyuan", "situan", "hospital"]
DAYS = 90
ORDER_COUNT = 540


def _r(analyte, value, unit, reference, flag=""):
    return {
        "analyte": analyte,
        "value": value,
        "unit": unit,
        "reference_range": reference,
        "flag": flag,
    }


# The results each lab item reports, and the critical values two of them may give.
RESULTS = {
    "L001": [
        _r("白细胞计数", "6.3", "10^9/L", "3.5-9.5"),
        _r("血红蛋白", "132", "g/L", "115-150"),
        _r("血小板计数", "210", "10^9/L", "125-350"),
    ],
    "L002": [
        _r("丙氨酸氨基转移酶", "28", "U/L", "9-50"),
        _r("天门冬氨酸氨基转移酶", "24", "U/L", "15-40"),
    ],
    "L003": [_r("肌酐", "78", "μmol/L", "57-111"), _r("尿素", "5.2", "mmol/L", "3.1-8.0")],
    "L004": [_r("血钾", "4.2", "mmol/L", "3.5-5.3"), _r("血钠", "140", "mmol/L", "137-147")],
    "L005": [_r("空腹血糖", "8.9", "mmol/L", "3.9-6.1", "H")],
    "L006": [_r("糖化血红蛋白", "7.4", "%", "4.0-6.0", "H")],
    "L007": [_r("尿蛋白", "阴性", "", "阴性"), _r("尿葡萄糖", "阴性", "", "阴性")],
    "L008": [_r("心肌肌钙蛋白I", "0.01", "ng/mL", "<0.04")],
    "L009": [
        _r("总胆固醇", "5.8", "mmol/L", "<5.2", "H"),
        _r("低密度脂蛋白胆固醇", "3.6", "mmol/L", "<3.4", "H"),
    ],
}
CRITICAL = {
    "L004": _r("血钾", "6.8", "mmol/L", "3.5-5.3", "critical"),
    "L008": _r("心肌肌钙蛋白I", "12.6", "ng/mL", "<0.04", "critical"),
}


def _minutes(rng: random.Random, low: float, high: float) -> datetime.timedelta:
    return datetime.timedelta(minutes=rng.uniform(low, high))


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


def _book(order: ExamOrder, actor, at: datetime.datetime, rng: random.Random) -> ExamOrder | None:
    """The earliest slot with a free place for the order's channel, after the patient's own
    lead time (green-channel patients are booked sooner: the paper's one-third-shorter wait)."""
    modality = order.items.values_list("item__modality", flat=True).first()
    lead_days = rng.uniform(1, 3) if order.priority_channel else rng.uniform(2, 4)
    if order.priority == "urgent":
        lead_days = 0.05
    candidates = ImagingSlot.objects.filter(
        center=order.center,
        modality=modality,
        starts_at__gte=at + datetime.timedelta(days=lead_days),
    ).order_by("starts_at")[:40]
    for slot in candidates:
        try:
            return services.order_schedule(actor=actor, order=order, slot=slot, at=at)
        except IllegalTransition:
            continue  # full for this channel: the next hour
    return None


def _walk_order(order, sender, staff, rng, now):
    """Take a past order through its life with plausible times; recent ones stop on the way."""
    at = order.ordered_at
    kind = order.center.kind
    if rng.random() < 0.03:
        return services.order_cancel(actor=sender, order=order, reason="患者未采样即离开", at=at)
    if kind == CenterKind.IMAGING:
        order = _book(order, sender, at + datetime.timedelta(minutes=3), rng)
        if order is None or order.slot.starts_at > now:
            return order
        at = order.slot.starts_at + _minutes(rng, 0, 40)
    else:
        at += _minutes(rng, 5, 40)
        order = services.order_collect(actor=sender, order=order, at=at)
        at += _minutes(rng, 20, 120) if kind == CenterKind.LAB else _minutes(rng, 2, 15)
        if at > now:
            return order
        if kind == CenterKind.LAB and rng.random() < 0.04:
            reason = rng.choice(["hemolysis", "insufficient_volume", "wrong_tube", "unlabeled"])
            order = services.order_reject(actor=staff, order=order, reason=reason, at=at)
            at += _minutes(rng, 60, 240)
            order = services.order_collect(actor=sender, order=order, at=at, note="重新采样")
            at += _minutes(rng, 20, 90)
    order = services.order_receive(actor=staff, order=order, at=at)
    at += _minutes(rng, 3, 20)
    if at > now:
        return order
    order = services.order_start(actor=staff, order=order, at=at)
    target = float(order.target_hours) * 60
    # Most reports are in time; about one in ten runs late.
    late = rng.random() < 0.1
    at += _minutes(rng, target * 1.05, target * 1.6) if late else _minutes(rng, 10, target * 0.9)
    if at > now:
        return order
    codes = list(order.items.values_list("item__code", flat=True))
    critical_codes = [code for code in codes if code in CRITICAL]
    critical = bool(critical_codes) and rng.random() < 0.06
    if kind == CenterKind.LAB:
        results = [row for code in codes for row in RESULTS[code]]
        if critical:
            results = [CRITICAL[critical_codes[0]]] + [
                row for row in results if row["analyte"] != CRITICAL[critical_codes[0]]["analyte"]
            ]
        order = services.order_report(actor=staff, order=order, results=results, at=at)
    else:
        impression = "窦性心律，正常心电图" if kind == CenterKind.ECG else "未见明显异常"
        order = services.order_report(
            actor=staff, order=order, findings="检查所见详见图像。", impression=impression, at=at
        )
    at += _minutes(rng, 3, 25) if critical else _minutes(rng, 60, 48 * 60)
    if at > now or (critical and rng.random() < 0.4):  # some critical values wait too long
        return order
    return services.order_acknowledge(actor=sender, order=order, at=at)


def _orders(centers: dict[str, SharedCenter], now: datetime.datetime) -> None:
    rng = random.Random(2020)  # noqa: S311 - demo data, not security
    User = get_user_model()
    senders = {name: User.objects.get(username=name) for name in ORDERERS}
    patients = {
        name: list(Patient.objects.restrict(user).order_by("pk")) for name, user in senders.items()
    }
    staff = {kind: center.staff.order_by("pk").first() for kind, center in centers.items()}
    items = {
        kind: list(center.items.order_by("code"))
        for kind, center in centers.items()
        if kind != CenterKind.STERILIZATION
    }
    for n in range(ORDER_COUNT):
        name = ORDERERS[n % len(ORDERERS)]
        if not patients[name]:
            continue
        kind = rng.choices([CenterKind.LAB, CenterKind.IMAGING, CenterKind.ECG], [60, 30, 10])[0]
        if kind == CenterKind.IMAGING:
            first = rng.choice(items[kind])
            chosen = [first]
        else:
            chosen = rng.sample(items[kind], k=min(len(items[kind]), rng.randint(1, 3)))
        ordered_at = now - datetime.timedelta(
            days=rng.uniform(0, 2) if n % 12 == 0 else rng.uniform(2, DAYS)
        )
        ordered_at = ordered_at.replace(hour=rng.randint(8, 16))
        if ordered_at > now:
            ordered_at -= datetime.timedelta(days=1)
        order = services.order_create(
            actor=senders[name],
            center=centers[kind],
            patient=patients[name][rng.randrange(len(patients[name]))],
            items=chosen,
            priority="urgent" if rng.random() < 0.12 else "routine",
            clinical_info="随访复查" if rng.random() < 0.5 else "体检异常，进一步检查",
            ordered_at=ordered_at,
        )
        _walk_order(order, senders[name], staff[kind], rng, now)
    services.escalate_critical_values(now=now)


def _sterilization(center: SharedCenter, members: list[Institution], now) -> None:
    """Three rounds of the package loop; the second round's first cycle fails its biological
    indicator, and one released cycle of the third round is recalled after use."""
    User = get_user_model()
    staff = center.staff.order_by("pk").first()
    users = {
        i.pk: User.objects.filter(
            staff_profile__institution=i,
            staff_profile__role__in=[Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF],
        )
        .order_by("pk")
        .first()
        for i in members
    }
    sets = list(InstrumentSet.objects.filter(center=center).order_by("code"))
    packages = []
    for index, member in enumerate(members):
        for n in range(8):
            instrument_set = sets[n % len(sets)]
            packages.append(
                services.package_register(
                    actor=staff,
                    instrument_set=instrument_set,
                    owner=member,
                    barcode=f"XD{index + 1:02d}{n + 1:04d}",
                )
            )
    patients = {
        i.pk: list(Patient.objects.filter(home_institution=i).order_by("pk")) for i in members
    }
    for round_no, days_back in enumerate((20, 10, 2), start=1):
        first_event = PackageEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        cycle_start_at = now - datetime.timedelta(days=days_back)
        fresh = [p for p in Package.objects.filter(instrument_set__center=center).order_by("pk")]
        codes = [p.barcode for p in fresh if p.status == "received"]
        services.packages_move(actor=staff, barcodes=codes, action=PackageAction.CLEAN)
        services.packages_move(actor=staff, barcodes=codes, action=PackageAction.PACK)
        by_method: dict[str, list[str]] = {}
        for package in fresh:
            if package.barcode in codes:
                by_method.setdefault(package.instrument_set.method, []).append(package.barcode)
        released = []
        for number, (method, batch) in enumerate(sorted(by_method.items()), start=1):
            cycle = services.cycle_start(
                actor=staff,
                center=center,
                sterilizer="1号脉动真空灭菌器" if method == "steam" else "2号低温等离子灭菌器",
                cycle_number=f"{cycle_start_at:%Y%m%d}-{number:02d}",
                method=method,
                started_at=cycle_start_at,
            )
            services.packages_move(
                actor=staff, barcodes=batch, action=PackageAction.STERILIZE, cycle=cycle
            )
            failed = round_no == 2 and number == 1
            # The last round's first cycle is released on its physical and chemical indicators;
            # its biological indicator, read the next day, fails after packages were used.
            late = round_no == 3 and number == 1
            biological = "failed" if failed else "pending" if late else "passed"
            cycle = services.cycle_record_results(
                actor=staff,
                cycle=cycle,
                physical="passed",
                chemical="passed",
                biological=biological,
                ended_at=cycle_start_at + datetime.timedelta(hours=1),
            )
            if not failed:
                released.append((cycle, batch))
        for _cycle, batch in released:
            services.packages_move(actor=staff, barcodes=batch, action=PackageAction.STORE)
            services.packages_move(actor=staff, barcodes=batch, action=PackageAction.DISPATCH)
            by_owner: dict[int, list[Package]] = {}
            for package in Package.objects.filter(barcode__in=batch):
                by_owner.setdefault(package.owner_id, []).append(package)
            for owner_id, owned in by_owner.items():
                member_user = users[owner_id]
                services.packages_move(
                    actor=member_user,
                    barcodes=[p.barcode for p in owned],
                    action=PackageAction.RECEIVE_BY_MEMBER,
                )
                for package in owned[: (len(owned) + 1) // 2]:
                    patient = (
                        patients[owner_id][package.pk % len(patients[owner_id])]
                        if patients[owner_id]
                        else None
                    )
                    services.packages_move(
                        actor=member_user,
                        barcodes=[package.barcode],
                        action=PackageAction.USE,
                        patient=patient,
                        procedure="门诊清创缝合术",
                    )
                if round_no < 3:
                    used = [p.barcode for p in owned[: (len(owned) + 1) // 2]]
                    services.packages_move(
                        actor=member_user, barcodes=used, action=PackageAction.COLLECT
                    )
        if round_no == 3 and released:
            services.cycle_record_results(
                actor=staff,
                cycle=released[0][0],
                physical="passed",
                chemical="passed",
                biological="failed",
            )
        if round_no < 3:
            # Collected packages arrive at the center before the next round starts.
            collected = list(
                Package.objects.filter(status="collected").values_list("barcode", flat=True)
            )
            if collected:
                services.packages_move(
                    actor=staff, barcodes=collected, action=PackageAction.RECEIVE
                )
        # The round happened days_back ago: move its events (and the package dates) back.
        delta = datetime.timedelta(days=days_back) - datetime.timedelta(hours=2)
        PackageEvent.objects.filter(pk__gt=first_event).update(at=F("at") - delta)
        SterilizationCycle.objects.filter(
            recalled_at__isnull=False, recalled_at__gt=now - datetime.timedelta(hours=1)
        ).update(recalled_at=F("recalled_at") - delta)
        Package.objects.filter(sterilized_at__gt=now - datetime.timedelta(hours=1)).update(
            sterilized_at=F("sterilized_at") - delta
        )
        Package.objects.filter(used_at__gt=now - datetime.timedelta(hours=1)).update(
            used_at=F("used_at") - delta
        )


def _clinical_user(institution: Institution):
    return (
        get_user_model()
        .objects.filter(
            staff_profile__institution=institution,
            staff_profile__role__in=[Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF],
        )
        .order_by("pk")
        .first()
    )


# member (by position among the community centers), set code: (requested, dispatched)
SUPPLY_REQUESTS = [
    (0, {"S001": (2, 2), "S002": (1, 1)}, 2, "fulfilled", "周一清创门诊用"),
    (1, {"S002": (4, 2), "S003": (1, 0)}, 1, "open", "换药室补充"),
    (2, {"S001": (3, 0), "S003": (2, 0)}, 0, "open", ""),
    (3, {"S004": (1, 0)}, 1, "cancel", "手术改期"),
]
SHELF_EXTRA = {2: {"S001": 1}}  # on the shelf for the open request: the pick list shows it


def _supply_requests(center: SharedCenter, members: list[Institution], now) -> None:
    """Requests from the community centers, served from packages processed for them today.

    Each member's barcodes continue its series of `_sterilization` (XD02…, XD03…)."""
    staff = center.staff.order_by("pk").first()
    sets = {kit.code: kit for kit in InstrumentSet.objects.filter(center=center)}
    today = timezone.localdate(now)
    stock: dict[tuple[int, str], list[str]] = {}
    for position, lines, _days, _state, _note in SUPPLY_REQUESTS:
        member = members[position]
        wanted = {code: sent for code, (_asked, sent) in lines.items()}
        for code, extra in SHELF_EXTRA.get(position, {}).items():
            wanted[code] = wanted.get(code, 0) + extra
        number = 9  # after the eight packages each member got in `_sterilization`
        for code, count in wanted.items():
            for _ in range(count):
                barcode = f"XD{position + 2:02d}{number:04d}"
                number += 1
                services.package_register(
                    actor=staff, instrument_set=sets[code], owner=member, barcode=barcode
                )
                stock.setdefault((member.pk, code), []).append(barcode)
    codes = [barcode for barcodes in stock.values() for barcode in barcodes]
    for action in (PackageAction.CLEAN, PackageAction.PACK):
        services.packages_move(actor=staff, barcodes=codes, action=action)
    cycle = services.cycle_start(
        actor=staff,
        center=center,
        sterilizer="1号脉动真空灭菌器",
        cycle_number=f"{today:%Y%m%d}-01",
        method="steam",
    )
    services.packages_move(actor=staff, barcodes=codes, action=PackageAction.STERILIZE, cycle=cycle)
    services.cycle_record_results(
        actor=staff, cycle=cycle, physical="passed", chemical="passed", biological="passed"
    )
    services.packages_move(actor=staff, barcodes=codes, action=PackageAction.STORE)
    for position, lines, days, state, note in SUPPLY_REQUESTS:
        member = members[position]
        requester = _clinical_user(member)
        supply_request = services.supply_request_create(
            actor=requester,
            center=center,
            note=note,
            lines=[(sets[code], asked) for code, (asked, _sent) in lines.items()],
            needed_by=today + datetime.timedelta(days=2) if state == "open" else None,
            at=now - datetime.timedelta(days=days, hours=3),
        )
        if state == "cancel":
            services.supply_request_cancel(actor=requester, request=supply_request)
            continue
        sent = [
            barcode
            for code, (_asked, count) in lines.items()
            for barcode in stock.get((member.pk, code), [])[:count]
        ]
        if sent:
            services.packages_move(
                actor=staff,
                barcodes=sent,
                action=PackageAction.DISPATCH,
                supply_request=supply_request,
                note="按申领单配送",
            )


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
            _orders(centers, now)
        members = list(
            Institution.objects.filter(short_name__in=["万祥", "泥城", "芦潮港", "书院"]).order_by(
                "pk"
            )
        )
        with transaction.atomic():
            _sterilization(centers[CenterKind.STERILIZATION], [lead, *members], now)
            _supply_requests(centers[CenterKind.STERILIZATION], members, timezone.now())
    return {
        "exam orders": ExamOrder.objects.count(),
        "imaging slots": ImagingSlot.objects.count(),
        "instrument packages": Package.objects.count(),
        "supply requests": SupplyRequest.objects.count(),
    }
