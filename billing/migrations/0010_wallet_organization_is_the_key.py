"""The organization is the wallet's one key: ``Wallet.user`` goes (a second key would
drift from the first as soon as an organization has more than one member)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("billing", "0009_wallet_organization")]

    operations = [
        migrations.RemoveField(model_name="wallet", name="user"),
        migrations.AlterField(
            model_name="wallet",
            name="organization",
            field=models.OneToOneField(
                on_delete=models.deletion.CASCADE,
                related_name="wallet",
                to="accounts.organization",
            ),
        ),
    ]
