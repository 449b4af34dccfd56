"""What ``test_org_migration`` runs inside ``manage.py shell`` on a database of its own:
fill it at the migrations before organizations, and read it back after them. Each step
prints one JSON line (the figures the test compares)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Sum
from django.utils import timezone

BEFORE = [
    ("accounts", "0004_money_as_integer_units_on_sqlite"),
    ("gateway", "0003_models_move_to_accounts_usage_catalog"),
    ("billing", "0008_money_as_integer_units_on_sqlite"),
    ("usage", "0002_money_as_integer_units_on_sqlite"),
]
USERS = ("amira@example.com", "bo@example.com", "cy@example.com", "dee@example.com")


def old_apps():
    return MigrationExecutor(connection).loader.project_state(BEFORE).apps


def fill() -> None:
    """Users (one without a wallet, one without keys), keys (one revoked), wallets with
    credits, usage debits and holds, usage records (with and without a key, one whose key
    was deleted) and rollups."""
    apps = old_apps()
    User = apps.get_model("accounts", "User")
    ApiKey = apps.get_model("accounts", "ApiKey")
    Wallet = apps.get_model("billing", "Wallet")
    Entry = apps.get_model("billing", "LedgerEntry")
    Hold = apps.get_model("billing", "Hold")
    Record = apps.get_model("usage", "UsageRecord")
    Rollup = apps.get_model("usage", "UsageRollup")
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    for n, email in enumerate(USERS):
        user = User.objects.create(email=email, password="x", name="Amira" if n == 0 else "")
        keys = [
            ApiKey.objects.create(
                owner=user,
                name=f"key {k}",
                prefix=f"sk-{n}{k}",
                hashed_key=f"{n}{k}".ljust(64, "h"),
                revoked_at=now if k == 1 else None,
            )
            for k in range(n % 3)
        ]
        if n == 3:
            continue  # a user from before wallets
        balance = Decimal(0)
        wallet = Wallet.objects.create(user=user)
        for i, amount in enumerate(
            [Decimal("10.0000000001"), Decimal("-0.0000012345"), Decimal("-1.5")]
        ):
            balance += amount
            Entry.objects.create(
                wallet=wallet,
                kind="adjustment" if amount > 0 else "usage",
                amount_usd=amount,
                balance_after_usd=balance,
                idempotency_key=f"{email}:{i}",
                description="old entry",
            )
        held = Decimal("0.3333333333")
        Hold.objects.create(
            wallet=wallet,
            api_key_id=keys[0].pk if keys else None,
            request_id=f"hold:{email}",
            amount_usd=held,
            expires_at=now + timedelta(hours=1),
        )
        Hold.objects.create(
            wallet=wallet,
            request_id=f"settled:{email}",
            amount_usd=Decimal(1),
            status="settled",
            expires_at=now,
        )
        Wallet.objects.filter(pk=wallet.pk).update(balance_usd=balance, held_usd=held)
        for i, key in enumerate([*keys, None, None]):
            cost = Decimal("0.0000000007") * (i + 1) + Decimal(n)
            Record.objects.create(
                request_id=f"req:{email}:{i}",
                user=user,
                api_key=key,
                model="m",
                source="api_key" if key else "playground",
                cost_usd=cost,
            )
            Rollup.objects.create(
                hour=hour - timedelta(hours=i),
                user=user,
                api_key=key,
                model="m",
                source="api_key" if key else "playground",
                requests=1,
                cost_usd=cost,
            )
    print(json.dumps(figures_before(apps)))


def figures_before(apps) -> dict:
    User = apps.get_model("accounts", "User")
    Wallet = apps.get_model("billing", "Wallet")
    Entry = apps.get_model("billing", "LedgerEntry")
    Hold = apps.get_model("billing", "Hold")
    Record = apps.get_model("usage", "UsageRecord")
    Rollup = apps.get_model("usage", "UsageRollup")
    found = {}
    for user in User.objects.order_by("email"):
        wallet = Wallet.objects.filter(user=user).first()
        found[user.email] = {
            "wallet": None
            if wallet is None
            else {
                "pk": wallet.pk,
                "balance": str(wallet.balance_usd),
                "held": str(wallet.held_usd),
                "ledger": str(
                    Entry.objects.filter(wallet=wallet).aggregate(s=Sum("amount_usd"))["s"]
                ),
                "entries": Entry.objects.filter(wallet=wallet).count(),
                "open_holds": str(
                    Hold.objects.filter(wallet=wallet, status="open").aggregate(
                        s=Sum("amount_usd")
                    )["s"]
                ),
            },
            "usage": str(Record.objects.filter(user=user).aggregate(s=Sum("cost_usd"))["s"]),
            "rollups": str(Rollup.objects.filter(user=user).aggregate(s=Sum("cost_usd"))["s"]),
            "records": Record.objects.filter(user=user).count(),
        }
    return found


def read_back() -> None:
    """The same figures after every migration, from the organization's side, and whether
    each key, wallet, usage record and rollup landed in its owner's personal organization."""
    from accounts.models import ApiKey, Organization, Project, User
    from billing.models import Hold, LedgerEntry, Wallet
    from usage.models import UsageRecord, UsageRollup

    found = {}
    for user in User.objects.order_by("email"):
        org = Organization.objects.get(personal_for=user)
        default = Project.objects.get(organization=org, is_default=True)
        wallet = Wallet.objects.filter(organization=org).first()
        keys = ApiKey.objects.filter(owner=user)
        records = UsageRecord.objects.filter(user=user)
        rollups = UsageRollup.objects.filter(user=user)
        placed = all(
            (row.organization_id, row.project_id) == (org.pk, default.pk)
            for row in [*records, *rollups]
        )
        found[user.email] = {
            "wallet": None
            if wallet is None
            else {
                "pk": wallet.pk,
                "balance": str(wallet.balance_usd),
                "held": str(wallet.held_usd),
                "ledger": str(
                    LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount_usd"))["s"]
                ),
                "entries": LedgerEntry.objects.filter(wallet=wallet).count(),
                "open_holds": str(
                    Hold.objects.filter(wallet=wallet, status="open").aggregate(
                        s=Sum("amount_usd")
                    )["s"]
                ),
            },
            "usage": str(records.aggregate(s=Sum("cost_usd"))["s"]),
            "rollups": str(rollups.aggregate(s=Sum("cost_usd"))["s"]),
            "records": records.count(),
            "org_name": org.name,
            "keys_placed": all(
                (k.organization_id, k.project_id) == (org.pk, default.pk) for k in keys
            ),
            "usage_placed": placed,
            "owner": org.members.filter(user=user, role="owner").exists(),
        }
    print(json.dumps(found))
