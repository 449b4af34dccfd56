"""``OcrJob.api_key_id`` (a bare integer) becomes a real foreign key to ``accounts.ApiKey``.

The column keeps its name and its values; jobs of keys deleted since lose the key
(as ``on_delete=SET_NULL`` would have done), then the index and constraint are added.
"""

import django.db.models.deletion
from django.db import migrations, models


def forget_deleted_keys(apps, schema_editor):
    OcrJob = apps.get_model("ocr", "OcrJob")
    ApiKey = apps.get_model("accounts", "ApiKey")
    OcrJob.objects.exclude(api_key_id=None).exclude(
        api_key_id__in=ApiKey.objects.values("pk")
    ).update(api_key_id=None)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_apikey"),
        ("ocr", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forget_deleted_keys, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="ocrjob", name="api_key_id"),
                migrations.AddField(
                    model_name="ocrjob",
                    name="api_key",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="accounts.apikey",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterField(
            model_name="ocrjob",
            name="api_key",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="accounts.apikey",
            ),
        ),
    ]
