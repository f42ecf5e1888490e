# OutboxMessage and WorkerHeartbeat are core's now (core 0001 took over their state, tables
# unchanged). Here alliance lets go of them in the state only, and their content types (with
# the permissions and admin log entries that point at them) are renamed to core's.

from django.db import migrations

MOVED = ('outboxmessage', 'workerheartbeat')


def _rename(apps, schema_editor, old, new):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    for model in MOVED:
        current = ContentType.objects.using(db).filter(app_label=old, model=model).first()
        if current is None:
            continue  # a new database: post_migrate creates core's content types afterwards
        # Only if `migrate core` ran on its own before this: its fresh, unused content type
        # (and permissions) make way for the old one, which keeps every reference to it.
        ContentType.objects.using(db).filter(app_label=new, model=model).delete()
        current.app_label = new
        current.save(update_fields=['app_label'])


def forwards(apps, schema_editor):
    _rename(apps, schema_editor, 'alliance', 'core')


def backwards(apps, schema_editor):
    _rename(apps, schema_editor, 'core', 'alliance')


class Migration(migrations.Migration):

    dependencies = [
        ('alliance', '0014_staff_and_membership_history'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('core', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='OutboxMessage'),
                migrations.DeleteModel(name='WorkerHeartbeat'),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
