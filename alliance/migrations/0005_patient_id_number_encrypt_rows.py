# Identity numbers encrypted at rest, step 2 of 3 (data): encrypt every plaintext number with the
# current key of PATIENT_ID_KEYS and fill its keyed hash; backwards, decrypt them again.
#
# Batches are read by primary key (keyset pagination) rather than from one open cursor: each
# batch is updated while the next is read, which a single SQLite cursor over the same table does
# not allow safely. Works on SQLite and PostgreSQL alike; the numbers never reach a log line.

from django.db import migrations, models

from alliance.fields import ID_NUMBER_PURPOSE, id_number_hash
from core.fields import decrypt, encrypt

BATCH = 500


def _batches(queryset):
    last_pk = 0
    while True:
        batch = list(queryset.filter(pk__gt=last_pk).order_by('pk')[:BATCH])
        if not batch:
            return
        yield batch
        last_pk = batch[-1].pk


def encrypt_rows(apps, schema_editor):
    Patient = apps.get_model('alliance', 'Patient')
    plaintext = Patient.objects.using(schema_editor.connection.alias).filter(
        id_number_hash__isnull=True
    ).only('pk', 'id_number')
    for batch in _batches(plaintext):
        for patient in batch:
            patient.id_number_hash = id_number_hash(patient.id_number)
            if patient.id_number:  # as the field stores it: an empty value stays empty
                patient.id_number = encrypt(patient.id_number, ID_NUMBER_PURPOSE)
        Patient.objects.using(schema_editor.connection.alias).bulk_update(
            batch, ['id_number', 'id_number_hash']
        )
    duplicates = list(
        Patient.objects.using(schema_editor.connection.alias)
        .values('id_number_hash')
        .annotate(rows=models.Count('pk'))
        .filter(rows__gt=1)
        .values_list('id_number_hash', flat=True)[:10]
    )
    if duplicates:
        # Two rows written differently (e.g. a lower-case x) are one number: 0006 would fail
        # on its unique constraint. Name the rows, never the numbers.
        pks = list(
            Patient.objects.using(schema_editor.connection.alias)
            .filter(id_number_hash__in=duplicates)
            .values_list('pk', flat=True)
        )
        raise RuntimeError(f'Patients {pks} share an identity number: merge them, then migrate.')


def decrypt_rows(apps, schema_editor):
    Patient = apps.get_model('alliance', 'Patient')
    encrypted = Patient.objects.using(schema_editor.connection.alias).filter(
        id_number_hash__isnull=False
    ).only('pk', 'id_number')
    for batch in _batches(encrypted):
        for patient in batch:
            if patient.id_number:
                patient.id_number = decrypt(patient.id_number, ID_NUMBER_PURPOSE)
            patient.id_number_hash = None
        Patient.objects.using(schema_editor.connection.alias).bulk_update(
            batch, ['id_number', 'id_number_hash']
        )


class Migration(migrations.Migration):

    dependencies = [
        ('alliance', '0004_patient_id_number_encrypted'),
    ]

    operations = [
        migrations.RunPython(encrypt_rows, decrypt_rows, elidable=False),
    ]
