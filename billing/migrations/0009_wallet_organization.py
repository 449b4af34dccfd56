"""A wallet belongs to an organization: each existing wallet goes to its user's personal
organization (made for every user by ``accounts.0006``). Balances, holds and ledger
entries stay on the same wallet row, so nothing is recomputed."""

from django.db import migrations, models


def wallets_to_personal_organizations(apps, schema_editor):
    Wallet = apps.get_model("billing", "Wallet")
    Organization = apps.get_model("accounts", "Organization")
    personal = dict(
        Organization.objects.filter(personal_for__isnull=False).values_list(
            "personal_for_id", "pk"
        )
    )
    for wallet in Wallet.objects.filter(organization__isnull=True).only("pk", "user_id"):
        Wallet.objects.filter(pk=wallet.pk).update(organization_id=personal[wallet.user_id])


def wallets_to_users(apps, schema_editor):
    Wallet = apps.get_model("billing", "Wallet")
    Organization = apps.get_model("accounts", "Organization")
    owners = dict(
        Organization.objects.filter(personal_for__isnull=False).values_list(
            "pk", "personal_for_id"
        )
    )
    for wallet in Wallet.objects.only("pk", "organization_id"):
        Wallet.objects.filter(pk=wallet.pk).update(user_id=owners[wallet.organization_id])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_personal_organizations"),
        ("billing", "0008_money_as_integer_units_on_sqlite"),
    ]

    operations = [
        migrations.AddField(
            model_name="wallet",
            name="organization",
            field=models.OneToOneField(
                null=True,
                on_delete=models.deletion.CASCADE,
                related_name="wallet",
                to="accounts.organization",
            ),
        ),
        migrations.AlterField(
            model_name="wallet",
            name="user",
            field=models.OneToOneField(
                null=True,
                on_delete=models.deletion.CASCADE,
                related_name="wallet",
                to="accounts.user",
            ),
        ),
        migrations.RunPython(wallets_to_personal_organizations, wallets_to_users),
    ]
