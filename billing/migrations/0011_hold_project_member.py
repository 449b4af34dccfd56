"""A hold names the project and the member whose budgets count it in flight
(``billing.caps``). Holds open at migration time belong to keys without caps of these
kinds: they stay without a project."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_personal_organizations"),
        ("billing", "0010_wallet_organization_is_the_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="hold",
            name="project",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.SET_NULL,
                related_name="+",
                to="accounts.project",
            ),
        ),
        migrations.AddField(
            model_name="hold",
            name="member",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(fields=["project", "status"], name="hold_project_status"),
        ),
    ]
