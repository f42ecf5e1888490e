# Identity numbers encrypted at rest, step 1 of 3 (schema): room for the ciphertext, and the
# keyed-hash column, nullable until 0005 fills it. id_number stays a plain text column here so
# that 0005 reads and writes the raw values; 0006 switches it to the encrypting field.

import alliance.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alliance', '0003_outboxmessage'),
    ]

    operations = [
        migrations.AddField(
            model_name='patient',
            name='id_number_hash',
            field=models.CharField(editable=False, max_length=64, null=True, verbose_name='identity number hash'),
        ),
        migrations.AlterField(
            model_name='patient',
            name='id_number',
            field=models.TextField(validators=[alliance.validators.validate_id_number], verbose_name='identity number'),
        ),
        migrations.AlterField(
            model_name='patientaccess',
            name='action',
            field=models.CharField(choices=[('view', 'Viewed'), ('create', 'Created'), ('update', 'Updated'), ('reveal_id', 'view full identity number')], max_length=16, verbose_name='action'),
        ),
    ]
