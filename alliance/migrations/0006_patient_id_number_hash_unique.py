# Identity numbers encrypted at rest, step 3 of 3 (schema): every row now has its hash, which
# carries the uniqueness the plaintext column had; id_number becomes the encrypting field (the
# column stays text, so there is no data change).

import core.fields
import alliance.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alliance', '0005_patient_id_number_encrypt_rows'),
    ]

    operations = [
        migrations.AlterField(
            model_name='patient',
            name='id_number_hash',
            field=models.CharField(editable=False, max_length=64, unique=True, verbose_name='identity number hash'),
        ),
        migrations.AlterField(
            model_name='patient',
            name='id_number',
            field=core.fields.EncryptedTextField(purpose='alliance.patient.id_number', validators=[alliance.validators.validate_id_number], verbose_name='identity number'),
        ),
    ]
