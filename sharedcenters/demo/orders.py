"""Three months of demo orders, walked through the services with explicit times: booked,
received, reported and reviewed, a few critical values among them."""

from __future__ import annotations

import datetime
import random

from django.contrib.auth import get_user_model

from alliance.choices import Role
from alliance.models import Institution, Patient
from core.errors import IllegalTransition

from .. import services
from ..choices import CenterKind
from ..models import ExamOrder, ImagingSlot, SharedCenter

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


def create_orders(centers: dict[str, SharedCenter], now: datetime.datetime) -> None:
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


def clinical_user(institution: Institution):
    return (
        get_user_model()
        .objects.filter(
            staff_profile__institution=institution,
            staff_profile__role__in=[Role.COMMUNITY_STAFF, Role.HOSPITAL_STAFF],
        )
        .order_by("pk")
        .first()
    )
