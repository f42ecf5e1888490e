"""The referral state machine, driven through the services as the UI, API and jobs do."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.errors import ActionNotAllowed, IllegalTransition
from referrals import services
from referrals.choices import Action, Direction, Status
from referrals.models import Referral, ReferralEvent
from tests.kit.factories import DepartmentFactory
from tests.referrals.conftest import payload


def submitted(make_referral):
    referral = make_referral()
    return services.referral_submit(actor=referral.referring_user, referral=referral)


class TestCreate:
    def test_an_invisible_patient_is_a_field_error(self, world, clinic_doctor):
        data = payload(world) | {
            "patient": world["other_patient"],
            "to_institution": world["hospital"],
            "to_department": world["cardiology"],
        }
        with pytest.raises(ValidationError) as error:
            services.referral_create(actor=clinic_doctor, **data)
        assert "patient" in error.value.message_dict
        assert not Referral.objects.exists()

    def test_a_target_outside_the_alliance_is_refused(self, world, clinic_doctor):
        data = payload(world) | {
            "patient": world["patient"],
            "to_institution": world["foreign_center"],
            "to_department": None,
        }
        with pytest.raises(ValidationError) as error:
            services.referral_create(actor=clinic_doctor, **data)
        assert "to_institution" in error.value.message_dict

    def test_a_department_of_another_institution_is_refused(self, world, clinic_doctor):
        from tests.kit.factories import DepartmentFactory

        elsewhere = DepartmentFactory(institution=world["other_center"])
        data = payload(world) | {
            "patient": world["patient"],
            "to_institution": world["hospital"],
            "to_department": elsewhere,
        }
        with pytest.raises(ValidationError) as error:
            services.referral_create(actor=clinic_doctor, **data)
        assert "to_department" in error.value.message_dict

    @pytest.mark.parametrize("code", ["", "I2", "120.0", "U07.1", "I21.9999999", "胸痛"])
    def test_a_malformed_icd10_code_is_refused(self, make_referral, code):
        with pytest.raises(ValidationError) as error:
            make_referral(diagnosis_code=code)
        assert "diagnosis_code" in error.value.message_dict

    def test_an_exam_needs_its_type(self, make_referral):
        with pytest.raises(ValidationError) as error:
            make_referral(service="exam", exam_type="")
        assert "exam_type" in error.value.message_dict

    def test_the_bureau_may_not_refer(self, world, bureau_viewer):
        with pytest.raises(ActionNotAllowed):
            services.referral_create(
                actor=bureau_viewer,
                **payload(world)
                | {
                    "patient": world["patient"],
                    "to_institution": world["hospital"],
                    "to_department": None,
                },
            )

    def test_direction_number_and_priorities_are_derived(self, make_referral, world):
        world["patient"].signed = True
        world["patient"].signing_institution = world["center"]
        world["patient"].signed_on = datetime.date(2022, 1, 1)
        world["patient"].save()
        referral = make_referral(service="exam", exam_type="ct", diagnosis_code="i21.900x001")
        assert referral.direction == Direction.UP
        assert referral.number.startswith(f"ZZ-{timezone.localdate():%Y%m%d}-")
        assert referral.diagnosis_code == "I21.900X001"
        assert (
            referral.priority_reception,
            referral.priority_exam,
            referral.priority_admission,
        ) == (True, True, False)
        assert referral.status == Status.DRAFT

    def test_numbers_count_up_within_the_day(self, make_referral):
        first, second = make_referral(), make_referral()
        assert int(second.number[-4:]) == int(first.number[-4:]) + 1

    def test_the_same_idempotency_key_returns_the_first_referral(
        self, make_referral, clinic_doctor
    ):
        first = make_referral(idempotency_key="retry-1")
        again = make_referral(idempotency_key="retry-1")
        assert again.pk == first.pk
        assert Referral.objects.count() == 1


class TestLifecycle:
    def test_up_and_back_down_closes_the_loop(
        self, make_referral, clinic_doctor, hospital_triage, world
    ):
        referral = make_referral()
        referral = services.referral_submit(actor=clinic_doctor, referral=referral)
        assert referral.due_at - referral.submitted_at == datetime.timedelta(hours=4)
        referral = services.referral_accept(actor=hospital_triage, referral=referral)
        when = timezone.now() + datetime.timedelta(days=1)
        referral = services.referral_schedule(
            actor=hospital_triage, referral=referral, appointment_at=when, place="门诊2楼心内科"
        )
        referral = services.referral_arrive(actor=hospital_triage, referral=referral)
        referral = services.referral_complete(
            actor=hospital_triage,
            referral=referral,
            outcome="admitted",
            summary="PCI术后病情稳定",
            follow_up_plan="每周随访血压，4周复查",
        )
        back, created = services.referral_refer_back(actor=hospital_triage, referral=referral)
        assert created and back.direction == Direction.DOWN
        assert back.returns_referral == referral
        assert back.to_institution == world["center"] and back.from_institution == world["hospital"]
        assert "4周复查" in back.clinical_summary
        back = services.referral_submit(actor=hospital_triage, referral=back)
        back = services.referral_accept(actor=clinic_doctor, referral=back)
        actions = list(referral.events.values_list("action", flat=True))
        assert actions == [
            Action.CREATE,
            Action.SUBMIT,
            Action.ACCEPT,
            Action.SCHEDULE,
            Action.ARRIVE,
            Action.COMPLETE,
            Action.REFER_BACK,
        ]

    def test_information_requested_then_resubmitted_restarts_the_clock(
        self, make_referral, clinic_doctor, hospital_triage
    ):
        referral = submitted(make_referral)
        first_due = referral.due_at
        referral = services.referral_request_info(
            actor=hospital_triage, referral=referral, note="请补充心肌酶结果"
        )
        assert referral.status == Status.INFO_REQUESTED
        referral = services.referral_update(
            actor=clinic_doctor, referral=referral, clinical_summary="肌钙蛋白升高"
        )
        referral = services.referral_submit(actor=clinic_doctor, referral=referral)
        assert referral.status == Status.SUBMITTED and referral.due_at > first_due

    def test_redirect_hands_it_to_another_member_as_submitted(
        self, make_referral, hospital_triage, world, outsider_clinic_user
    ):
        referral = submitted(make_referral)
        referral = services.referral_redirect(
            actor=hospital_triage, referral=referral, to_institution=world["other_center"]
        )
        assert referral.status == Status.SUBMITTED
        assert referral.to_institution == world["other_center"]
        assert referral.direction == Direction.LATERAL
        event = referral.events.latest("pk")
        assert (
            event.action == Action.REDIRECT and event.data["to_institution"] == world["hospital"].pk
        )
        assert Action.ACCEPT in services.allowed_actions(outsider_clinic_user, referral)
        assert services.allowed_actions(hospital_triage, referral) == []

    def test_an_emergency_may_arrive_before_it_is_accepted(
        self, make_referral, clinic_doctor, hospital_triage
    ):
        referral = make_referral(urgency="emergency")
        referral = services.referral_submit(actor=clinic_doctor, referral=referral)
        referral = services.referral_arrive(actor=hospital_triage, referral=referral)
        assert referral.status == Status.ARRIVED

    def test_a_routine_patient_may_not_arrive_unaccepted(self, make_referral, hospital_triage):
        referral = submitted(make_referral)
        with pytest.raises(IllegalTransition):
            services.referral_arrive(actor=hospital_triage, referral=referral)


REASONED = {
    "reject": {"reason": "无床位"},
    "cancel": {"reason": "患者拒绝"},
    "request_info": {"note": "请补充"},
}


class TestRefusals:
    @pytest.mark.parametrize(
        "status, action",
        [
            ("draft", "accept"),
            ("draft", "reject"),
            ("draft", "arrive"),
            ("draft", "complete"),
            ("accepted", "accept"),
            ("accepted", "submit"),
            ("accepted", "reject"),
            ("completed", "cancel"),
            ("rejected", "accept"),
            ("cancelled", "submit"),
            ("arrived", "cancel"),
            ("expired", "accept"),
            ("scheduled", "request_info"),
        ],
    )
    def test_illegal_transitions_conflict_and_change_nothing(
        self, make_referral, hospital_triage, clinic_doctor, status, action
    ):
        referral = make_referral()
        Referral.objects.filter(pk=referral.pk).update(status=status)
        referral.refresh_from_db()
        actor = clinic_doctor if action in ("submit", "cancel") else hospital_triage
        events = ReferralEvent.objects.count()
        service = getattr(services, f"referral_{action}")
        extra = REASONED.get(action, {})
        if action == "complete":
            extra = {"outcome": "admitted", "summary": "x"}
        with pytest.raises(IllegalTransition):
            service(actor=actor, referral=referral, **extra)
        referral.refresh_from_db()
        assert referral.status == status
        assert ReferralEvent.objects.count() == events

    def test_the_sender_may_not_accept_its_own_referral(self, make_referral, clinic_doctor):
        with pytest.raises(ActionNotAllowed):
            services.referral_accept(actor=clinic_doctor, referral=submitted(make_referral))

    def test_the_receiver_may_not_cancel(self, make_referral, hospital_triage):
        with pytest.raises(ActionNotAllowed):
            services.referral_cancel(
                actor=hospital_triage, referral=submitted(make_referral), reason="x"
            )

    def test_a_third_institution_may_not_act(self, make_referral, outsider_clinic_user):
        with pytest.raises(ActionNotAllowed):
            services.referral_accept(actor=outsider_clinic_user, referral=submitted(make_referral))

    def test_the_office_may_act_for_either_side(self, make_referral, alliance_office):
        referral = services.referral_accept(
            actor=alliance_office, referral=submitted(make_referral)
        )
        assert referral.status == Status.ACCEPTED

    @pytest.mark.parametrize("action", ["reject", "cancel", "request_info"])
    def test_a_reason_is_required(self, make_referral, clinic_doctor, hospital_triage, action):
        referral = submitted(make_referral)
        actor = clinic_doctor if action == "cancel" else hospital_triage
        key = "note" if action == "request_info" else "reason"
        with pytest.raises(ValidationError) as error:
            getattr(services, f"referral_{action}")(actor=actor, referral=referral, **{key: "  "})
        assert key in error.value.message_dict

    def test_submitting_without_consent_is_refused(self, make_referral, clinic_doctor):
        with pytest.raises(ValidationError) as error:
            services.referral_submit(actor=clinic_doctor, referral=make_referral(consent=False))
        assert "consent" in error.value.message_dict

    def test_no_show_waits_for_the_appointment_to_pass(self, make_referral, hospital_triage):
        referral = services.referral_accept(
            actor=hospital_triage, referral=submitted(make_referral)
        )
        referral = services.referral_schedule(
            actor=hospital_triage,
            referral=referral,
            appointment_at=timezone.now() + datetime.timedelta(hours=2),
            place="门诊",
        )
        with pytest.raises(IllegalTransition):
            services.referral_no_show(actor=hospital_triage, referral=referral)

    def test_refer_back_only_once(self, make_referral, hospital_triage):
        referral = services.referral_accept(
            actor=hospital_triage, referral=submitted(make_referral)
        )
        referral = services.referral_arrive(actor=hospital_triage, referral=referral)
        referral = services.referral_complete(
            actor=hospital_triage, referral=referral, outcome="outpatient", summary="好转"
        )
        services.referral_refer_back(actor=hospital_triage, referral=referral)
        with pytest.raises(IllegalTransition):
            services.referral_refer_back(actor=hospital_triage, referral=referral)


class TestEscalation:
    def test_overdue_referrals_are_escalated_once_and_long_overdue_ones_expire(
        self, make_referral, alliance_office, django_capture_on_commit_callbacks
    ):
        late = submitted(make_referral)
        stale = submitted(make_referral)
        fresh = submitted(make_referral)
        now = timezone.now()
        Referral.objects.filter(pk=late.pk).update(due_at=now - datetime.timedelta(minutes=5))
        Referral.objects.filter(pk=stale.pk).update(due_at=now - datetime.timedelta(days=3))
        with django_capture_on_commit_callbacks(execute=True):
            first = services.escalate_overdue()
            second = services.escalate_overdue()
        assert first == {"escalated": 2, "expired": 1}
        assert second == {"escalated": 0, "expired": 0}
        late.refresh_from_db()
        stale.refresh_from_db()
        fresh.refresh_from_db()
        assert (late.status, stale.status, fresh.status) == (
            Status.SUBMITTED,
            Status.EXPIRED,
            Status.SUBMITTED,
        )
        assert late.escalated_at is not None and fresh.escalated_at is None
        assert alliance_office.notifications.count() == 2


def test_a_draft_and_its_patient_stay_with_the_sender_until_submitted(
    make_referral, clinic_doctor, hospital_triage, world
):
    from alliance.models import Patient

    referral = make_referral()
    assert not Referral.objects.restrict(hospital_triage).filter(pk=referral.pk).exists()
    assert not Patient.objects.restrict(hospital_triage).filter(pk=world["patient"].pk).exists()
    services.referral_submit(actor=clinic_doctor, referral=referral)
    assert Referral.objects.restrict(hospital_triage).filter(pk=referral.pk).exists()
    assert Patient.objects.restrict(hospital_triage).filter(pk=world["patient"].pk).exists()


# Issue 13, item 4: nobody approves their own referral.
def test_a_centre_referring_to_its_own_station_cannot_act_for_the_station(world, clinic_doctor):
    station_department = DepartmentFactory(institution=world["station"], name="全科诊室")
    referral, _ = services.referral_create(
        actor=clinic_doctor,
        patient=world["patient"],
        to_institution=world["station"],
        to_department=station_department,
        diagnosis_code="I10",
        diagnosis_text="高血压",
        reason="随访",
        consent=True,
        submit=True,
    )
    assert services.allowed_actions(clinic_doctor, referral) == [Action.CANCEL]

    for act in (services.referral_accept, services.referral_arrive):
        with pytest.raises(ActionNotAllowed):
            act(actor=clinic_doctor, referral=referral)
    referral.refresh_from_db()
    assert referral.status == Status.SUBMITTED
    assert list(referral.events.values_list("action", flat=True)) == ["create", "submit"]


def test_the_office_does_not_accept_a_referral_it_wrote(world, alliance_office):
    referral, _ = services.referral_create(
        actor=alliance_office,
        patient=world["patient"],
        to_institution=world["hospital"],
        to_department=world["cardiology"],
        diagnosis_code="I20.0",
        diagnosis_text="心绞痛",
        reason="胸痛",
        consent=True,
        submit=True,
        from_institution=world["center"],
    )

    with pytest.raises(ActionNotAllowed):
        services.referral_accept(actor=alliance_office, referral=referral)
    assert Referral.objects.get(pk=referral.pk).status == Status.SUBMITTED
