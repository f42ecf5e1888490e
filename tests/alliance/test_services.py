import datetime

import pytest
from django.core.exceptions import ValidationError

from alliance import services
from alliance.models import AccessLog, Patient
from core.choices import AccessKind
from core.errors import ActionNotAllowed
from tests.kit.factories import valid_id_number


def register(actor, home, n=42, **overrides):
    data = {
        "name": "新居民",
        "gender": "male",
        "birth_date": "1995-05-17",
        "id_number": valid_id_number(n),
        "home_institution": home,
    } | overrides
    data["birth_date"] = datetime.date.fromisoformat(str(data["birth_date"]))
    return services.patient_create(actor=actor, **data)


def test_the_bureau_may_not_register_patients(world, bureau_viewer):
    with pytest.raises(ActionNotAllowed):
        register(bureau_viewer, world["center"])
    assert not Patient.objects.filter(name="新居民").exists()


def test_a_clinic_may_not_register_a_resident_of_another_center(world, clinic_doctor):
    with pytest.raises(ValidationError) as error:
        register(clinic_doctor, world["other_center"])
    assert "home_institution" in error.value.message_dict
    assert not Patient.objects.filter(name="新居民").exists()


def test_an_invalid_record_writes_neither_patient_nor_log(world, clinic_doctor):
    with pytest.raises(ValidationError):
        register(clinic_doctor, world["center"], id_number="310115199505170000")
    assert not Patient.objects.filter(name="新居民").exists()
    assert not AccessLog.objects.patient_accesses().exists()


def test_registering_a_resident_logs_who_created_it(world, clinic_doctor):
    number = next(valid_id_number(n) for n in range(200) if valid_id_number(n).endswith("X"))
    patient = register(clinic_doctor, world["station"], id_number=number.lower())
    assert patient.id_number == number  # stored upper case
    access = AccessLog.objects.patient_accesses().get(patient=patient)
    assert (access.user, access.kind) == (clinic_doctor, AccessKind.PATIENT_CREATE)


def test_an_update_logs_the_changed_fields(world, clinic_doctor):
    patient = world["patient"]
    services.patient_update(
        actor=clinic_doctor, patient=patient, phone="13800000000", name=patient.name
    )
    access = AccessLog.objects.patient_accesses().get(
        patient=patient, kind=AccessKind.PATIENT_UPDATE
    )
    assert access.detail["fields"] == ["phone"]


def test_moving_a_resident_out_of_ones_own_institutions_is_refused(world, clinic_doctor):
    with pytest.raises(ValidationError):
        services.patient_update(
            actor=clinic_doctor, patient=world["patient"], home_institution=world["other_center"]
        )
    world["patient"].refresh_from_db()
    assert world["patient"].home_institution == world["center"]
