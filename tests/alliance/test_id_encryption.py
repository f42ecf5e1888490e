"""Identity numbers encrypted at rest: AES-GCM with rotatable keys, a keyed hash for lookups and
uniqueness, the data migration, and the one audited way to see a number in full."""

import base64
import datetime
import logging
import os
import re

import pytest
from django.core.exceptions import FieldError, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone, translation

from alliance import services
from alliance.fields import ID_NUMBER_PURPOSE, id_number_hash
from alliance.models import AccessLog, Patient
from core.choices import AccessKind
from core.errors import DomainError
from core.fields import DecryptionError, decrypt, encrypt
from tests.kit.factories import InstitutionFactory, PatientFactory, valid_id_number

pytestmark = pytest.mark.django_db

BEFORE_ENCRYPTION = ("alliance", "0003_outboxmessage")
ENVELOPE = re.compile(r"^[A-Za-z0-9_-]+:[A-Za-z0-9+/]+=*$")


def stored(patient: Patient) -> tuple[str, str]:
    """What the database holds for the patient, read past the ORM."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id_number, id_number_hash FROM alliance_patient WHERE id = %s", [patient.pk]
        )
        return cursor.fetchone()


def number_ending_in_x() -> str:
    return next(n for i in range(200) if (n := valid_id_number(i)).endswith("X"))


# --- at rest ----------------------------------------------------------------------------------


def test_the_column_holds_no_plaintext(world):
    for key in ("patient", "station_patient", "other_patient", "foreign_patient"):
        number = world[key].id_number
        value, digest = stored(world[key])
        assert ENVELOPE.match(value), value
        assert number not in value and number[6:14] not in value
        assert digest == id_number_hash(number) and number not in digest


def test_the_number_round_trips_and_equal_numbers_encrypt_differently(world):
    patient = world["patient"]
    patient.refresh_from_db()

    assert Patient.objects.get(pk=patient.pk).id_number == patient.id_number
    assert Patient.objects.filter(pk=patient.pk).values_list("id_number", flat=True)[0] == (
        patient.id_number
    )
    # A random nonce per value: the ciphertext says nothing about equal numbers.
    assert encrypt(patient.id_number, ID_NUMBER_PURPOSE) != stored(patient)[0]


def test_a_value_written_with_an_old_key_decrypts_after_a_new_key_is_added(world, settings):
    old_key, new_key = os.urandom(32), os.urandom(32)
    settings.PATIENT_ID_KEYS = {"2024": old_key}
    number = valid_id_number(60)
    patient = PatientFactory(id_number=number, home_institution=world["center"])
    assert stored(patient)[0].startswith("2024:")

    settings.PATIENT_ID_KEYS = {"2025": new_key, "2024": old_key}  # the first is current

    assert Patient.objects.get(pk=patient.pk).id_number == number
    assert Patient.objects.with_id_number(number).get() == patient  # the hash key is unchanged
    newer = PatientFactory(id_number=valid_id_number(61), home_institution=world["center"])
    assert stored(newer)[0].startswith("2025:")
    patient.save()  # any save re-encrypts with the current key
    assert stored(patient)[0].startswith("2025:")
    settings.PATIENT_ID_KEYS = {"2025": new_key}
    assert Patient.objects.get(pk=patient.pk).id_number == number


def test_a_value_whose_key_was_removed_is_refused_by_its_key_id(world, settings):
    patient = world["patient"]
    settings.PATIENT_ID_KEYS = {"other": os.urandom(32)}

    with pytest.raises(DecryptionError, match="no key with id 'dev'") as error:
        Patient.objects.get(pk=patient.pk)
    assert patient.id_number not in str(error.value)


def test_a_tampered_ciphertext_is_refused(world):
    patient = world["patient"]
    key_id, payload = stored(patient)[0].split(":")
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 0x01
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE alliance_patient SET id_number = %s WHERE id = %s",
            [f"{key_id}:{base64.b64encode(bytes(raw)).decode()}", patient.pk],
        )

    with pytest.raises(DecryptionError, match="authentication failed") as error:
        Patient.objects.get(pk=patient.pk)
    assert patient.id_number not in str(error.value)


def test_a_ciphertext_of_another_purpose_or_format_is_refused():
    sealed = encrypt("310115199505170011", "alliance.other.column")

    with pytest.raises(DecryptionError, match="authentication failed"):
        decrypt(sealed, ID_NUMBER_PURPOSE)
    with pytest.raises(DecryptionError, match="not in the encrypted format"):
        decrypt("310115199505170011", ID_NUMBER_PURPOSE)
    with pytest.raises(DecryptionError, match="not valid base64"):
        decrypt("dev:%%%", ID_NUMBER_PURPOSE)


def test_filtering_on_the_encrypted_column_is_refused_except_isnull(world):
    number = world["patient"].id_number

    for lookup in ("id_number", "id_number__iexact", "id_number__icontains", "id_number__in"):
        with pytest.raises(FieldError, match="encrypted"):
            list(Patient.objects.filter(**{lookup: number}))
    with pytest.raises(FieldError, match="encrypted"):
        list(Patient.objects.filter(id_number__upper__exact=number))
    assert Patient.objects.filter(id_number__isnull=False).count() == 4


# --- keyed hash: lookups and uniqueness -------------------------------------------------------


def test_with_id_number_finds_the_whole_number_however_written(world, clinic_doctor):
    patient = world["patient"]
    number = patient.id_number
    written = f" {number[:6]} {number[6:14]} {number[14:].lower()} "

    assert list(Patient.objects.with_id_number(written)) == [patient]
    assert not Patient.objects.with_id_number(number[:10]).exists()  # never a partial match
    assert Patient.objects.restrict(clinic_doctor).with_id_number(number).get() == patient
    foreign = world["foreign_patient"].id_number
    assert not Patient.objects.restrict(clinic_doctor).with_id_number(foreign).exists()


def test_writes_that_bypass_save_keep_the_hash_in_step(world):
    number = valid_id_number(70)
    [created] = Patient.objects.bulk_create(
        [
            Patient(
                name="批量",
                gender="male",
                birth_date=datetime.date(1995, 5, 17),
                id_number=number,
                home_institution=world["center"],
            )
        ]
    )
    assert stored(created)[1] == id_number_hash(number)
    assert Patient.objects.with_id_number(number).get().name == "批量"

    renumbered = valid_id_number(71)
    Patient.objects.filter(pk=created.pk).update(id_number=renumbered)
    assert Patient.objects.with_id_number(renumbered).get().pk == created.pk

    created.id_number = valid_id_number(72)
    Patient.objects.bulk_update([created], ["id_number"])
    assert Patient.objects.with_id_number(valid_id_number(72)).get().pk == created.pk


def test_the_database_refuses_a_second_row_with_the_same_number(world):
    number = number_ending_in_x()
    PatientFactory(id_number=number, home_institution=world["center"])

    with pytest.raises(IntegrityError), transaction.atomic():
        PatientFactory(id_number=number.lower(), home_institution=world["center"])


def test_model_validation_reports_a_duplicate_on_the_id_number_field(world):
    existing = world["patient"]
    twin = PatientFactory.build(id_number=existing.id_number, home_institution=world["center"])

    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as error:
            twin.full_clean()
        # The message is lazy: read it in the language it is checked in.
        assert list(error.value.message_dict) == ["id_number"]
        assert "已存在" in error.value.message_dict["id_number"][0]
    existing.full_clean()  # the record itself is not its own duplicate


def test_the_service_refuses_a_duplicate_without_saying_where(world, clinic_doctor):
    number = world["patient"].id_number
    written = f"{number[:6]} {number[6:]}".lower()

    with pytest.raises(DomainError) as error:
        services.patient_create(
            actor=clinic_doctor,
            name="重复",
            gender="male",
            birth_date=datetime.date(1995, 5, 17),
            id_number=written,
            home_institution=world["center"],
        )
    assert world["center"].name not in error.value.message
    assert Patient.objects.with_id_number(number).count() == 1


def test_the_api_refuses_a_duplicate_naming_no_record(api, clinic_doctor, world):
    existing = world["patient"]
    response = api.as_user(clinic_doctor).post(
        "/api/v1/patients/",
        {
            "name": "重复",
            "gender": existing.gender,
            "birth_date": existing.birth_date.isoformat(),
            "id_number": existing.id_number.lower(),
            "home_institution": world["center"].pk,
        },
        format="json",
    )

    assert response.status_code == 409, response.content
    assert existing.id_number not in response.content.decode()
    assert Patient.objects.with_id_number(existing.id_number).count() == 1


# --- the one audited "show" action ------------------------------------------------------------


def reveal_url(patient: Patient) -> str:
    return f"/api/v1/patients/{patient.pk}/reveal-id-number/"


def test_reveal_returns_the_full_number_and_records_it(api, clinic_doctor, world):
    patient = world["patient"]

    response = api.as_user(clinic_doctor).post(reveal_url(patient))

    assert response.status_code == 200, response.content
    assert response.json() == {"id_number": patient.id_number}
    assert "no-store" in response["Cache-Control"]
    access = AccessLog.objects.patient_accesses().get()
    assert (access.patient, access.user, access.kind, access.detail) == (
        patient,
        clinic_doctor,
        AccessKind.PATIENT_REVEAL_ID,
        {"channel": "api"},
    )
    assert patient.id_number not in str(access.detail)


def test_reveal_is_a_post_only(api, clinic_doctor, world):
    response = api.as_user(clinic_doctor).get(reveal_url(world["patient"]))

    assert response.status_code == 405
    assert not AccessLog.objects.patient_accesses().exists()


def test_reveal_of_another_institutions_patient_is_a_404(api, outsider_clinic_user, world):
    response = api.as_user(outsider_clinic_user).post(reveal_url(world["patient"]))

    assert response.status_code == 404
    assert world["patient"].id_number not in response.content.decode()
    assert not AccessLog.objects.patient_accesses().exists()


def test_the_bureau_may_not_reveal_like_it_may_not_see_the_detail(api, bureau_viewer, world):
    # The bureau has no patient-level access: 403 for the detail, so 403 here as well.
    api.as_user(bureau_viewer)
    detail = api.get(f"/api/v1/patients/{world['patient'].pk}/")
    response = api.post(reveal_url(world["patient"]))

    assert response.status_code == detail.status_code == 403
    assert world["patient"].id_number not in response.content.decode()
    assert not AccessLog.objects.patient_accesses().exists()


def test_reveal_needs_a_login(api, world):
    response = api.post(reveal_url(world["patient"]))

    assert response.status_code in (401, 403)
    assert not AccessLog.objects.patient_accesses().exists()


def test_the_detail_and_the_list_stay_masked(api, clinic_doctor, world):
    patient = world["patient"]
    api.as_user(clinic_doctor)

    detail = api.get(f"/api/v1/patients/{patient.pk}/")
    listing = api.get("/api/v1/patients/")

    assert detail.json()["id_number"] == patient.masked_id_number
    assert patient.id_number not in detail.content.decode() + listing.content.decode()


def test_no_log_line_carries_an_identity_number(
    api, clinic_doctor, outsider_clinic_user, world, caplog
):
    caplog.set_level(logging.DEBUG)
    number = world["patient"].id_number

    api.as_user(clinic_doctor).post("/api/v1/patients/lookup/", {"id_number": number}, "json")
    api.post(reveal_url(world["patient"]))
    api.as_user(outsider_clinic_user).post(reveal_url(world["patient"]))  # a 404, logged
    api.post("/api/v1/patients/lookup/", {"id_number": number}, "json")  # a 404, logged

    assert caplog.records  # the 404s were logged ...
    assert number not in caplog.text  # ... without the number
    assert number.lower() not in caplog.text


# --- the data migration -----------------------------------------------------------------------


def migrate_to(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_encrypts_existing_rows_and_reverses(transactional_db):
    home = InstitutionFactory()
    number = number_ending_in_x()
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    migrate_to([BEFORE_ENCRYPTION])
    try:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO alliance_patient (name, gender, birth_date, id_number, phone, "
                "address, home_institution_id, signed, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, '', '', %s, %s, %s, %s)",
                ["旧档", "male", "1995-05-17", number, home.pk, False, now, now],
            )
        migrate_to(latest)

        patient = Patient.objects.get(name="旧档")
        value, digest = stored(patient)
        assert ENVELOPE.match(value) and number not in value
        assert digest == id_number_hash(number)
        assert patient.id_number == number
        assert Patient.objects.with_id_number(number.lower()).get() == patient

        migrate_to([BEFORE_ENCRYPTION])  # backwards: the plaintext again
        with connection.cursor() as cursor:
            cursor.execute("SELECT id_number FROM alliance_patient WHERE name = %s", ["旧档"])
            assert cursor.fetchone()[0] == number
    finally:
        migrate_to(latest)
