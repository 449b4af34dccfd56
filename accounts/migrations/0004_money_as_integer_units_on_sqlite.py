"""Money columns become MoneyField: integer units of 10⁻¹⁰ USD on SQLite (converted
exactly first, see ground.money_units); numeric(20, 10) on PostgreSQL as before."""

from django.db import migrations

import ground.money
from ground.money_units import to_integer_units


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_apikey"),
    ]

    operations = [
        to_integer_units(
            "accounts", "apikey", "daily_budget_usd", "monthly_budget_usd", "total_budget_usd"
        ),
        migrations.AlterField(
            model_name="apikey",
            name="daily_budget_usd",
            field=ground.money.MoneyField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="apikey",
            name="monthly_budget_usd",
            field=ground.money.MoneyField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="apikey",
            name="total_budget_usd",
            field=ground.money.MoneyField(blank=True, null=True),
        ),
    ]
