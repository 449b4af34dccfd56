"""``Hold.api_key_id`` (a bare integer) becomes a real foreign key to ``accounts.ApiKey``.

The column keeps its name and its values; holds of keys deleted since lose the key
(as ``on_delete=SET_NULL`` would have done), then the constraint is added.
"""

import django.db.models.deletion
from django.db import migrations, models


def forget_deleted_keys(apps, schema_editor):
    Hold = apps.get_model("billing", "Hold")
    ApiKey = apps.get_model("accounts", "ApiKey")
    Hold.objects.exclude(api_key_id=None).exclude(
        api_key_id__in=ApiKey.objects.values("pk")
    ).update(api_key_id=None)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_apikey"),
        ("billing", "0002_redemptionbatch_redemptioncode"),
    ]

    operations = [
        migrations.RunPython(forget_deleted_keys, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="hold", name="hold_key_status"),
                migrations.RemoveField(model_name="hold", name="api_key_id"),
                migrations.AddField(
                    model_name="hold",
                    name="api_key",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        db_constraint=False,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="accounts.apikey",
                    ),
                ),
                migrations.AddIndex(
                    model_name="hold",
                    index=models.Index(fields=["api_key", "status"], name="hold_key_status"),
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterField(
            model_name="hold",
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
