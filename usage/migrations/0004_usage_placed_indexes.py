"""Rollups are kept per project too (its uniqueness includes the organization and the
project), with the indexes project budgets and usage by organization read."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("usage", "0003_usage_organization_project")]

    operations = [
        migrations.RemoveConstraint(model_name="usagerollup", name="unique_usage_rollup"),
        migrations.AddConstraint(
            model_name="usagerollup",
            constraint=models.UniqueConstraint(
                fields=("hour", "user", "api_key", "organization", "project", "model", "source"),
                name="unique_usage_rollup_placed",
                nulls_distinct=False,
            ),
        ),
        migrations.AddIndex(
            model_name="usagerecord",
            index=models.Index(fields=["organization", "-id"], name="usage_org_recent"),
        ),
        migrations.AddIndex(
            model_name="usagerecord",
            index=models.Index(fields=["project", "-id"], name="usage_project_recent"),
        ),
        migrations.AddIndex(
            model_name="usagerollup",
            index=models.Index(fields=["organization", "hour"], name="rollup_org_hour"),
        ),
        migrations.AddIndex(
            model_name="usagerollup",
            index=models.Index(
                fields=["project", "user", "hour"], name="rollup_project_user_hour"
            ),
        ),
    ]
