"""Money columns become MoneyField: integer units of 10⁻¹⁰ USD on SQLite (converted
exactly first, see ground.money_units); numeric(20, 10) on PostgreSQL as before."""

from decimal import Decimal

from django.db import migrations

import ground.money
from ground.money_units import to_integer_units


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_ledgerentry_staff_note"),
    ]

    operations = [
        to_integer_units("billing", "hold", "amount_usd"),
        to_integer_units("billing", "ledgerentry", "amount_usd", "balance_after_usd"),
        to_integer_units("billing", "redemptionbatch", "amount_usd"),
        to_integer_units(
            "billing",
            "wallet",
            "balance_usd",
            "held_usd",
            "low_balance_threshold_usd",
            "unpaid_usd",
        ),
        migrations.AlterField(
            model_name="hold",
            name="amount_usd",
            field=ground.money.MoneyField(),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="amount_usd",
            field=ground.money.MoneyField(help_text="positive credits, negative debits"),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="balance_after_usd",
            field=ground.money.MoneyField(),
        ),
        migrations.AlterField(
            model_name="redemptionbatch",
            name="amount_usd",
            field=ground.money.MoneyField(
                help_text="credited per code", verbose_name="amount (USD)"
            ),
        ),
        migrations.AlterField(
            model_name="wallet",
            name="balance_usd",
            field=ground.money.MoneyField(default=Decimal("0"), editable=False),
        ),
        migrations.AlterField(
            model_name="wallet",
            name="held_usd",
            field=ground.money.MoneyField(default=Decimal("0"), editable=False),
        ),
        migrations.AlterField(
            model_name="wallet",
            name="low_balance_threshold_usd",
            field=ground.money.MoneyField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="wallet",
            name="unpaid_usd",
            field=ground.money.MoneyField(
                default=Decimal("0"),
                editable=False,
                help_text="usage an upstream billed beyond its hold that the balance could not cover",
            ),
        ),
    ]
