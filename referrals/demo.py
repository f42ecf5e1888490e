"""Demo referrals for the Lingang alliance: a realistic spread over the last four months.

Created through the services (so every step has its event), then moved back in time. Idempotent:
each demo referral carries an idempotency key `demo-NNN` and is created only once.
"""

from __future__ import annotations

import datetime
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alliance.models import Department, Institution, Patient

from . import services
from .choices import Status
from .models import DailyCounter, FollowUpTask, Referral, ReferralEvent

DIAGNOSES = [
    ("I20.0", "不稳定型心绞痛", "心内科（胸痛中心）"),
    ("I21.9", "急性心肌梗死", "心内科（胸痛中心）"),
    ("I10", "原发性高血压", "心内科（胸痛中心）"),
    ("E11.9", "2型糖尿病", "内分泌科"),
    ("E11.5", "2型糖尿病伴周围循环并发症", "内分泌科"),
    ("C34.9", "支气管或肺恶性肿瘤", "肿瘤科"),
    ("C16.9", "胃恶性肿瘤", "肿瘤科"),
    ("I63.9", "脑梗死", "神经内科"),
    ("M17.9", "膝关节病", "骨科"),
    ("S72.0", "股骨颈骨折", "骨科"),
]
CENTERS = ["wanxiang", "nicheng", "luchaogang", "shuyuan", "situan"]
# Final state → share of demo referrals (the rest of the path is walked to get there).
PLAN = [
    ("completed", 40),
    ("refer_back", 14),
    ("rejected", 7),
    ("cancelled", 5),
    ("expired", 3),
    ("no_show", 2),
    ("accepted", 8),
    ("scheduled", 8),
    ("arrived", 3),
    ("info_requested", 3),
    ("submitted", 8),
    ("draft", 4),
]
RECENT = {"submitted", "info_requested", "accepted", "scheduled", "arrived", "draft"}
COUNT = 120
FOLLOW_UP = "社区每2周随访一次，监测血压、血糖，按时服药"
FOLLOW_UP_ITEMS = [
    {"kind": "visit", "due_in_days": 14, "description": "上门或门诊随访，测血压、血糖"},
    {"kind": "medication_review", "due_in_days": 28, "description": "复核用药及不良反应"},
    {"kind": "test", "due_in_days": 90, "description": "三个月后复查血脂、肝肾功能"},
]


def _walk(target: str, referral: Referral, sender, receiver, rng: random.Random) -> Referral:
    now = timezone.now()
    if target == "draft":
        return referral
    referral = services.referral_submit(actor=sender, referral=referral)
    if target == "submitted":
        return referral
    if target == "info_requested":
        return services.referral_request_info(
            actor=receiver, referral=referral, note="请补充近期检查结果及用药情况"
        )
    if target == "expired":
        return referral  # expired by the escalation job once moved back in time
    if target == "rejected":
        return services.referral_reject(
            actor=receiver, referral=referral, reason="床位或号源不足：本周床位已满"
        )
    if target == "cancelled":
        return services.referral_cancel(actor=sender, referral=referral, reason="患者改变就诊计划")
    referral = services.referral_accept(actor=receiver, referral=referral)
    if target == "accepted":
        return referral
    appointment = now + datetime.timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 6))
    referral = services.referral_schedule(
        actor=receiver, referral=referral, appointment_at=appointment, place="门诊楼2层专科诊区"
    )
    if target == "scheduled":
        return referral
    if target == "no_show":
        Referral.objects.filter(pk=referral.pk).update(
            appointment_at=now - datetime.timedelta(hours=2)
        )
        referral.refresh_from_db()
        return services.referral_no_show(actor=receiver, referral=referral)
    referral = services.referral_arrive(actor=receiver, referral=referral)
    if target == "arrived":
        return referral
    outcome = rng.choice(["outpatient", "admitted", "admitted", "outpatient", "transferred"])
    referral = services.referral_complete(
        actor=receiver,
        referral=referral,
        outcome=outcome,
        summary="转上级专科医院继续治疗。" if outcome == "transferred" else "诊疗结束，病情稳定。",
        follow_up_plan=FOLLOW_UP if outcome == "admitted" else "",
        follow_up=FOLLOW_UP_ITEMS if outcome == "admitted" else [],
    )
    if target == "refer_back":
        back, _ = services.referral_refer_back(actor=receiver, referral=referral, submit=True)
        services.referral_accept(actor=sender, referral=back)
    return referral


def _move_back(referral: Referral, delta: datetime.timedelta) -> None:
    """Shift every timestamp of the referral (and of a referral returning it) back by delta."""
    fields = [
        "created_at",
        "submitted_at",
        "due_at",
        "responded_at",
        "escalated_at",
        "arrived_at",
        "closed_at",
    ]
    ids = [
        referral.pk,
        *Referral.objects.filter(returns_referral=referral).values_list("pk", flat=True),
    ]
    for name in fields:
        Referral.objects.filter(pk__in=ids, **{f"{name}__isnull": False}).update(
            **{name: F(name) - delta}
        )
    if referral.status != Status.SCHEDULED:
        Referral.objects.filter(pk__in=ids, appointment_at__isnull=False).update(
            appointment_at=F("appointment_at") - delta
        )
    ReferralEvent.objects.filter(referral_id__in=ids).update(at=F("at") - delta)
    FollowUpTask.objects.filter(referral_id__in=ids).update(
        due_on=F("due_on") - datetime.timedelta(days=delta.days)
    )
    for pk in ids:
        created = Referral.objects.get(pk=pk).created_at
        Referral.objects.filter(pk=pk).update(
            number=services.next_number(timezone.localdate(created))
        )


def load_demo() -> dict[str, int]:
    if Referral.objects.filter(idempotency_key__startswith="demo-").exists():
        return {"referrals": Referral.objects.count()}
    rng = random.Random(2019)  # noqa: S311 - demo data, not security
    User = get_user_model()
    lead = Institution.objects.get(short_name="临港院区")
    receiver = User.objects.get(username="hospital")
    departments = {d.name: d for d in Department.objects.filter(institution=lead)}
    targets = [state for state, weight in PLAN for _ in range(weight)]
    today = timezone.localdate()
    with transaction.atomic():
        for n in range(COUNT):
            center_key = CENTERS[n % len(CENTERS)]
            sender = User.objects.get(username=center_key)
            patients = list(Patient.objects.restrict(sender).order_by("pk"))
            patient = patients[n % len(patients)]
            code, text, department = DIAGNOSES[rng.randrange(len(DIAGNOSES))]
            target = targets[n % len(targets)]
            urgency = rng.choices(["routine", "urgent", "emergency"], weights=[70, 22, 8])[0]
            if target == "expired":
                urgency = "routine"
            service = rng.choices(["outpatient", "admission", "exam"], weights=[60, 25, 15])[0]
            referral, _ = services.referral_create(
                actor=sender,
                patient=patient,
                to_institution=lead,
                to_department=departments[department],
                urgency=urgency,
                service=service,
                exam_type="ct" if service == "exam" else "",
                diagnosis_code=code,
                diagnosis_text=text,
                reason=f"{text}，社区处理效果不佳，需上级医院进一步诊治",
                clinical_summary="生命体征平稳，既往史详见附件。"
                if urgency != "emergency"
                else "夜间突发胸痛2小时，含服硝酸甘油无缓解，心电图ST段抬高。",
                consent=True,
                idempotency_key=f"demo-{n:03d}",
            )
            referral = _walk(target, referral, sender, receiver, rng)
            days_back = rng.randint(0, 2) if target in RECENT else rng.randint(3, 120)
            _move_back(referral, datetime.timedelta(days=days_back, hours=rng.randint(0, 8)))
        # Today's counter must continue after the highest number the demo left on today (the
        # referrals moved back took numbers of their days; the ones left keep theirs, with gaps).
        prefix = f"ZZ-{today:%Y%m%d}-"
        used_today = [
            int(number.removeprefix(prefix))
            for number in Referral.objects.filter(number__startswith=prefix).values_list(
                "number", flat=True
            )
        ]
        DailyCounter.objects.filter(day=today).update(last=max(used_today, default=0))
    services.escalate_overdue()
    # Follow-ups long past their date were done; the recent ones are on the worklist.
    for task in FollowUpTask.objects.filter(due_on__lt=today - datetime.timedelta(days=7)):
        doer = User.objects.filter(staff_profile__institution_id=task.institution_id).first()
        if doer is not None:
            services.follow_up_done(actor=doer, task=task, note="已完成")
    return {"referrals": Referral.objects.count()}
