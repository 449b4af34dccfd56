"""Money columns become MoneyField: integer units of 10⁻¹⁰ USD on SQLite (converted
exactly first, see ground.money_units); numeric(20, 10) on PostgreSQL as before."""

from decimal import Decimal

from django.db import migrations

import ground.money
from ground.money_units import to_integer_units


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_latency_log_linear_buckets"),
    ]

    operations = [
        to_integer_units(
            "catalog",
            "model",
            "cached_input_price_per_1m",
            "input_price_per_1m",
            "output_price_per_1m",
            "unit_price",
        ),
        migrations.AlterField(
            model_name="model",
            name="cached_input_price_per_1m",
            field=ground.money.MoneyField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="model",
            name="input_price_per_1m",
            field=ground.money.MoneyField(default=Decimal("0")),
        ),
        migrations.AlterField(
            model_name="model",
            name="output_price_per_1m",
            field=ground.money.MoneyField(default=Decimal("0")),
        ),
        migrations.AlterField(
            model_name="model",
            name="unit_price",
            field=ground.money.MoneyField(
                default=Decimal("0"), help_text="USD per OCR page or per retrieval query"
            ),
        ),
    ]
