"""Money columns become MoneyField: integer units of 10⁻¹⁰ USD on SQLite (converted
exactly first, see ground.money_units); numeric(20, 10) on PostgreSQL as before."""

from decimal import Decimal

from django.db import migrations

import ground.money
from ground.money_units import to_integer_units


class Migration(migrations.Migration):
    dependencies = [
        ("usage", "0001_initial"),
    ]

    operations = [
        to_integer_units("usage", "usagerecord", "cost_usd"),
        to_integer_units("usage", "usagerollup", "cost_usd"),
        migrations.AlterField(
            model_name="usagerecord",
            name="cost_usd",
            field=ground.money.MoneyField(default=Decimal("0")),
        ),
        migrations.AlterField(
            model_name="usagerollup",
            name="cost_usd",
            field=ground.money.MoneyField(default=Decimal("0")),
        ),
    ]
