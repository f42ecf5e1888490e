# The outbox and the worker heartbeats move from alliance to core (issue 14). The tables and
# their rows stay where they are (alliance_outboxmessage, alliance_workerheartbeat: db_table);
# only Django's model state moves, here and in alliance 0015, which also renames the content
# types. Depending on alliance 0003 keeps a new database creating the tables before core's
# later migrations alter them.

import django.core.serializers.json
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('alliance', '0003_outboxmessage'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='WorkerHeartbeat',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('hostname', models.CharField(max_length=255, unique=True, verbose_name='worker')),
                        ('seen_at', models.DateTimeField(verbose_name='last seen')),
                    ],
                    options={
                        'verbose_name': 'worker heartbeat',
                        'verbose_name_plural': 'worker heartbeats',
                        'db_table': 'alliance_workerheartbeat',
                    },
                ),
                migrations.CreateModel(
                    name='OutboxMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('task', models.CharField(max_length=200, verbose_name='task')),
                        ('args', models.JSONField(blank=True, default=list, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='arguments')),
                        ('kwargs', models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='keyword arguments')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                        ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='sent at')),
                        ('attempts', models.PositiveIntegerField(default=0, verbose_name='failed attempts')),
                        ('last_error', models.TextField(blank=True, verbose_name='last error')),
                        ('next_attempt_at', models.DateTimeField(blank=True, help_text="Set after a failure other than the broker's: the sweeper waits until then.", null=True, verbose_name='next attempt')),
                    ],
                    options={
                        'verbose_name': 'outbox message',
                        'verbose_name_plural': 'outbox messages',
                        'db_table': 'alliance_outboxmessage',
                        'ordering': ['pk'],
                        'indexes': [models.Index(condition=models.Q(('sent_at__isnull', True)), fields=['created_at'], name='outbox_pending')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
