"""Money columns become MoneyField: integer units of 10⁻¹⁰ USD on SQLite (converted
exactly first, see ground.money_units); numeric(20, 10) on PostgreSQL as before."""

from django.db import migrations

import ground.money
from ground.money_units import to_integer_units


class Migration(migrations.Migration):
    dependencies = [
        ("retrieval", "0005_document_sweep"),
    ]

    operations = [
        to_integer_units("retrieval", "document", "page_price_usd"),
        migrations.AlterField(
            model_name="document",
            name="page_price_usd",
            field=ground.money.MoneyField(default=0),
        ),
    ]
