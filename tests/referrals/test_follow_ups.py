"""A downward referral's follow-up plan becomes dated tasks for the community that accepts it."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.errors import ActionNotAllowed, IllegalTransition
from referrals import services
from referrals.models import FollowUpTask

PLAN = [
    {"kind": "visit", "due_in_days": 7, "description": "上门随访，测血压"},
    {"kind": "medication_review", "due_in_days": 28, "description": "复核抗血小板用药"},
]


def complete_up(make_referral, clinic_doctor, hospital_triage, **extra):
    referral = services.referral_submit(actor=clinic_doctor, referral=make_referral())
    referral = services.referral_accept(actor=hospital_triage, referral=referral)
    referral = services.referral_arrive(actor=hospital_triage, referral=referral)
    return services.referral_complete(
        actor=hospital_triage, referral=referral, outcome="admitted", summary="PCI术后稳定", **extra
    )


@pytest.mark.parametrize(
    "item",
    [
        {"kind": "yoga", "due_in_days": 7, "description": "x"},
        {"kind": "visit", "due_in_days": 0, "description": "x"},
        {"kind": "visit", "due_in_days": 400, "description": "x"},
        {"kind": "visit", "due_in_days": 7, "description": " "},
        {"kind": "visit"},
    ],
)
def test_a_malformed_plan_item_is_refused_and_nothing_completes(
    make_referral, clinic_doctor, hospital_triage, item
):
    with pytest.raises(ValidationError) as error:
        complete_up(make_referral, clinic_doctor, hospital_triage, follow_up=[item])
    assert "follow_up" in error.value.message_dict


def test_accepting_the_downward_referral_creates_the_tasks(
    make_referral, clinic_doctor, hospital_triage, world
):
    up = complete_up(make_referral, clinic_doctor, hospital_triage, follow_up=PLAN)
    back, _ = services.referral_refer_back(actor=hospital_triage, referral=up, submit=True)
    assert not FollowUpTask.objects.exists()  # not before the community accepts
    services.referral_accept(actor=clinic_doctor, referral=back)
    tasks = list(FollowUpTask.objects.order_by("due_on"))
    today = timezone.localdate()
    assert [(t.kind, t.due_on - today) for t in tasks] == [
        ("visit", datetime.timedelta(days=7)),
        ("medication_review", datetime.timedelta(days=28)),
    ]
    assert {t.institution for t in tasks} == {world["center"]}
    assert {t.patient for t in tasks} == {world["patient"]}


def test_a_plan_in_words_only_becomes_one_visit(make_referral, clinic_doctor, hospital_triage):
    up = complete_up(make_referral, clinic_doctor, hospital_triage, follow_up_plan="两周后复诊")
    back, _ = services.referral_refer_back(actor=hospital_triage, referral=up, submit=True)
    services.referral_accept(actor=clinic_doctor, referral=back)
    task = FollowUpTask.objects.get()
    assert (task.kind, task.description) == ("visit", "两周后复诊")


@pytest.fixture
def task(make_referral, clinic_doctor, hospital_triage):
    up = complete_up(make_referral, clinic_doctor, hospital_triage, follow_up=PLAN[:1])
    back, _ = services.referral_refer_back(actor=hospital_triage, referral=up, submit=True)
    services.referral_accept(actor=clinic_doctor, referral=back)
    return FollowUpTask.objects.get()


def test_only_the_responsible_institution_records_a_follow_up(task, hospital_triage, clinic_doctor):
    with pytest.raises(ActionNotAllowed):
        services.follow_up_done(actor=hospital_triage, task=task)
    done = services.follow_up_done(actor=clinic_doctor, task=task, note="血压130/80")
    assert done.done_by == clinic_doctor and done.done_at is not None
    with pytest.raises(IllegalTransition):
        services.follow_up_done(actor=clinic_doctor, task=task)


def test_the_worklist_api_and_page(task, api, clinic_doctor, outsider_clinic_user, browser_client):
    listed = api.as_user(clinic_doctor).get("/api/v1/follow-ups/?open=1")
    assert [row["id"] for row in listed.json()["results"]] == [task.pk]
    assert (
        api.as_user(outsider_clinic_user).get(f"/api/v1/follow-ups/{task.pk}/").status_code == 404
    )
    refused = api.as_user(outsider_clinic_user).post(f"/api/v1/follow-ups/{task.pk}/done/", {})
    assert refused.status_code == 404
    browser_client.force_login(clinic_doctor)
    page = browser_client.get("/referrals/follow-ups/")
    assert page.status_code == 200 and "上门随访" in page.content.decode()
    done = api.as_user(clinic_doctor).post(
        f"/api/v1/follow-ups/{task.pk}/done/", {"note": "已随访"}
    )
    assert done.status_code == 200 and done.json()["done_at"]
    again = api.as_user(clinic_doctor).post(f"/api/v1/follow-ups/{task.pk}/done/", {})
    assert again.status_code == 409
    assert api.as_user(clinic_doctor).get("/api/v1/follow-ups/?open=1").json()["results"] == []


def test_the_complete_action_takes_structured_follow_up(
    api, make_referral, clinic_doctor, hospital_triage
):
    referral = services.referral_submit(actor=clinic_doctor, referral=make_referral())
    referral = services.referral_accept(actor=hospital_triage, referral=referral)
    referral = services.referral_arrive(actor=hospital_triage, referral=referral)
    response = api.as_user(hospital_triage).post(
        f"/api/v1/referrals/{referral.pk}/complete/",
        {"outcome": "admitted", "summary": "稳定", "follow_up": PLAN},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"
    referral.refresh_from_db()
    assert referral.follow_up_items == PLAN
