"""Usage knows its organization and project: every record and rollup goes to its key's
project (placed by ``accounts.0006``), or, without a key (the playground, the portal, a
key deleted since), to its user's personal organization's default project. Nothing
else changes: counts and costs stay as they were."""

from django.db import migrations, models


def place_usage(apps, schema_editor):
    ApiKey = apps.get_model("accounts", "ApiKey")
    Project = apps.get_model("accounts", "Project")
    UsageRecord = apps.get_model("usage", "UsageRecord")
    UsageRollup = apps.get_model("usage", "UsageRollup")
    keys = ApiKey.objects.filter(organization__isnull=False).values_list(
        "pk", "organization_id", "project_id"
    )
    for key_id, org_id, project_id in keys.iterator(chunk_size=1000):
        for rows in (UsageRecord.objects, UsageRollup.objects):
            rows.filter(api_key_id=key_id).update(organization_id=org_id, project_id=project_id)
    personal = Project.objects.filter(
        is_default=True, organization__personal_for__isnull=False
    ).values_list("organization__personal_for_id", "organization_id", "pk")
    for user_id, org_id, project_id in personal.iterator(chunk_size=1000):
        for rows in (UsageRecord.objects, UsageRollup.objects):
            rows.filter(user_id=user_id, organization__isnull=True).update(
                organization_id=org_id, project_id=project_id
            )


def field(to: str) -> models.ForeignKey:
    return models.ForeignKey(
        blank=True,
        db_index=False,
        null=True,
        on_delete=models.deletion.SET_NULL,
        related_name="+",
        to=to,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_personal_organizations"),
        ("usage", "0002_money_as_integer_units_on_sqlite"),
    ]

    operations = [
        migrations.AddField("usagerecord", "organization", field("accounts.organization")),
        migrations.AddField("usagerecord", "project", field("accounts.project")),
        migrations.AddField("usagerollup", "organization", field("accounts.organization")),
        migrations.AddField("usagerollup", "project", field("accounts.project")),
        migrations.RunPython(place_usage, migrations.RunPython.noop),
    ]
