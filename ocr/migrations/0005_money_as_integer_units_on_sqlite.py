"""Money columns become MoneyField: integer units of 10⁻¹⁰ USD on SQLite (converted
exactly first, see ground.money_units); numeric(20, 10) on PostgreSQL as before."""

from decimal import Decimal

from django.db import migrations

import ground.money
from ground.money_units import to_integer_units


class Migration(migrations.Migration):
    dependencies = [
        ("ocr", "0004_words_language"),
    ]

    operations = [
        to_integer_units("ocr", "ocrjob", "unit_price_usd"),
        migrations.AlterField(
            model_name="ocrjob",
            name="unit_price_usd",
            field=ground.money.MoneyField(default=Decimal("0")),
        ),
    ]
