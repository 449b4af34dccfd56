"""Money columns become MoneyField: integer units of 10⁻¹⁰ USD on SQLite (converted
exactly first, see portal.lib.money_units); numeric(20, 10) on PostgreSQL as before."""

from decimal import Decimal

from django.db import migrations

import portal.lib.money
from portal.lib.money_units import to_integer_units


class Migration(migrations.Migration):
    dependencies = [
        ("ocr", "0004_words_language"),
    ]

    operations = [
        to_integer_units("ocr", "ocrjob", "unit_price_usd"),
        migrations.AlterField(
            model_name="ocrjob",
            name="unit_price_usd",
            field=portal.lib.money.MoneyField(default=Decimal("0")),
        ),
    ]
