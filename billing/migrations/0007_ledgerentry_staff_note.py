"""Staff notes apart from what the owner reads: an admin's reason for an adjustment was
the entry's description, shown in the user's ledger ("undo typo"). It moves to
``staff_note``; the owner's ledger shows the kind alone ("Admin adjustment")."""

from django.db import migrations, models

# ``admin_adjust`` (the admin's form and ``manage.py wallet``) keys its entries so.
ADJUSTMENTS = {"kind": "adjustment", "idempotency_key__startswith": "adjust:"}


def reasons_to_staff_notes(apps, schema_editor):
    LedgerEntry = apps.get_model("billing", "LedgerEntry")
    LedgerEntry.objects.filter(**ADJUSTMENTS).update(
        staff_note=models.F("description"), description=""
    )


def staff_notes_to_descriptions(apps, schema_editor):
    LedgerEntry = apps.get_model("billing", "LedgerEntry")
    LedgerEntry.objects.filter(**ADJUSTMENTS, description="").update(
        description=models.F("staff_note")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_hold_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="ledgerentry",
            name="staff_note",
            field=models.CharField(
                blank=True,
                help_text="why staff made this entry; never shown to the owner",
                max_length=300,
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="description",
            field=models.CharField(
                blank=True, help_text="shown to the wallet's owner in their ledger", max_length=300
            ),
        ),
        migrations.RunPython(reasons_to_staff_notes, staff_notes_to_descriptions),
    ]
