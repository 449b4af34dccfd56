"""A database made by the release before the move (keys and usage in ``gateway``, bare
integer key ids on holds and OCR jobs, money as SQLite REALs) migrates forward with its
rows intact and its amounts exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F, Sum
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("accounts", "0002_user_allowed_models_user_rpd_limit_user_rpm_limit_and_more"),
    ("catalog", "0002_provider_base_url_any_host"),
    ("gateway", "0002_usage_user_model_created"),
    ("billing", "0002_redemptionbatch_redemptioncode"),
    ("ocr", "0001_initial"),
    ("usage", None),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1]]).apps


@pytest.fixture
def decimals_allowed(settings):
    """Old migrations' fields bind decimals as text, as that release did."""
    settings.SQLITE_REFUSE_DECIMAL_PARAMS = False


def latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def fill_old_database(apps) -> dict:
    User = apps.get_model("accounts", "User")
    ApiKey = apps.get_model("gateway", "ApiKey")
    UsageRecord = apps.get_model("gateway", "UsageRecord")
    UsageRollup = apps.get_model("gateway", "UsageRollup")
    LatencyRollup = apps.get_model("gateway", "LatencyRollup")
    Wallet = apps.get_model("billing", "Wallet")
    Hold = apps.get_model("billing", "Hold")
    OcrJob = apps.get_model("ocr", "OcrJob")
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    user = User.objects.create(email="old@example.com", password="x")
    key = ApiKey.objects.create(
        owner=user, name="old key", prefix="sk-oldkey1", hashed_key="h" * 64
    )
    wallet = Wallet.objects.create(
        user=user, balance_usd=Decimal("5"), low_balance_threshold_usd=Decimal("12345.6789012345")
    )
    UsageRecord.objects.create(
        request_id="req_old", user=user, api_key=key, model="m", cost_usd=Decimal("0.25")
    )
    UsageRollup.objects.create(hour=hour, user=user, api_key=key, model="m", source="api_key")
    LatencyRollup.objects.create(hour=hour, model="m", provider="p", requests=3)
    Hold.objects.create(
        wallet=wallet, api_key_id=key.pk, request_id="req_hold", amount_usd=1, expires_at=now
    )
    Hold.objects.create(
        wallet=wallet,
        api_key_id=key.pk + 999,
        request_id="req_orphan",
        amount_usd=1,
        expires_at=now,
    )
    OcrJob.objects.create(
        token="t" * 32,
        owner=user,
        api_key_id=key.pk,
        filename="a.pdf",
        total_pages=1,
        expires_at=now,
        unit_price_usd=Decimal("0.0015"),
    )
    fill_old_money(apps, user, key, wallet, hour)
    return {"user": user.pk, "key": key.pk}


def fill_old_money(apps, user, key, wallet, hour) -> None:
    """Amounts as the old release wrote them: on SQLite a REAL, or an INTEGER when whole."""
    LedgerEntry = apps.get_model("billing", "LedgerEntry")
    RedemptionBatch = apps.get_model("billing", "RedemptionBatch")
    Model = apps.get_model("catalog", "Model")
    UsageRecord = apps.get_model("gateway", "UsageRecord")
    UsageRollup = apps.get_model("gateway", "UsageRollup")
    ApiKey = apps.get_model("gateway", "ApiKey")
    for index, (amount, after) in enumerate(OLD_LEDGER):
        LedgerEntry.objects.create(
            wallet=wallet,
            kind="adjustment",
            amount_usd=Decimal(amount),
            balance_after_usd=Decimal(after),
            idempotency_key=f"old:{index}",
        )
    RedemptionBatch.objects.create(amount_usd=Decimal("12.34"), count=1)
    Model.objects.create(
        public_id="old-model",
        input_price_per_1m=Decimal("0.15"),
        output_price_per_1m=Decimal("0.6"),
        cached_input_price_per_1m=Decimal("0.075"),
        unit_price=Decimal("0.0015"),
    )
    UsageRecord.objects.create(
        request_id="req_tiny", user=user, model="m", cost_usd=Decimal("0.0000000001")
    )
    UsageRollup.objects.filter(hour=hour).update(cost_usd=Decimal("0.2500000001"))
    ApiKey.objects.filter(pk=key.pk).update(daily_budget_usd=Decimal("9.99"))
    # REAL arithmetic in SQL, as the old reservation did it: 0.1 + 0.2 is not 0.3 there.
    held = F("held_usd")
    for step in ("0.1", "0.2"):
        apps.get_model("billing", "Wallet").objects.filter(pk=wallet.pk).update(
            held_usd=held + Decimal(step)
        )


OLD_LEDGER = [
    ("5", "5"),
    ("-0.0015", "4.9985"),
    ("-0.0000000001", "4.9984999999"),
    ("0.3", "5.2984999999"),
    ("-12345.6789012345", "-12340.3804012346"),
    # A REAL keeps 15 significant digits: the old release read this back, and so it stays.
    ("900000000", "899987659.619599"),
]


def test_an_old_database_migrates_forward_without_losing_rows(decimals_allowed):
    old = fill_old_database(migrate(BEFORE))
    migrate(latest())

    from accounts.models import ApiKey
    from billing.models import Hold
    from catalog.models import LatencyRollup
    from ocr.models import OcrJob
    from usage.models import UsageRecord, UsageRollup

    key = ApiKey.objects.get(pk=old["key"])
    assert key.name == "old key" and key.owner_id == old["user"]
    record = UsageRecord.objects.get(request_id="req_old")
    assert record.api_key == key and record.cost_usd == Decimal("0.25")
    assert UsageRollup.objects.get().api_key == key
    assert LatencyRollup.objects.get().requests == 3
    assert Hold.objects.get(request_id="req_hold").api_key == key
    # A hold of a key deleted since keeps its row and loses the dangling id.
    assert Hold.objects.get(request_id="req_orphan").api_key is None
    assert OcrJob.objects.get().api_key == key
    # The key's foreign keys are real now: deleting it clears them instead of dangling.
    key.delete()
    assert Hold.objects.get(request_id="req_hold").api_key_id is None
    assert OcrJob.objects.get().api_key_id is None


def test_old_amounts_migrate_exactly_and_then_add_up_exactly_in_sql(decimals_allowed, settings):
    fill_old_database(migrate(BEFORE))
    migrate(latest())
    settings.SQLITE_REFUSE_DECIMAL_PARAMS = True

    from accounts.models import ApiKey
    from billing.models import LedgerEntry, RedemptionBatch, Wallet
    from catalog.models import Model
    from ground.money import money_value
    from ocr.models import OcrJob
    from usage.models import UsageRecord, UsageRollup

    entries = LedgerEntry.objects.order_by("pk")
    assert [(e.amount_usd, e.balance_after_usd) for e in entries] == [
        (Decimal(amount), Decimal(after)) for amount, after in OLD_LEDGER
    ]
    total = sum(Decimal(amount) for amount, _ in OLD_LEDGER)
    assert entries.aggregate(s=Sum("amount_usd"))["s"] == total
    wallet = Wallet.objects.get()
    assert wallet.balance_usd == 5 and wallet.held_usd == Decimal("0.3")
    assert wallet.low_balance_threshold_usd == Decimal("12345.6789012345")
    # The conditional reservation is exact at the edge now: 5 − 0.3 leaves 4.7 exactly.
    room = Wallet.objects.filter(balance_usd__gte=F("held_usd") + money_value(Decimal("4.7")))
    assert room.exists()
    assert not Wallet.objects.filter(
        balance_usd__gte=F("held_usd") + money_value(Decimal("4.7000000001"))
    ).exists()
    assert RedemptionBatch.objects.get().amount_usd == Decimal("12.34")
    model = Model.objects.get(public_id="old-model")
    assert (model.input_price_per_1m, model.output_price_per_1m) == (
        Decimal("0.15"),
        Decimal("0.6"),
    )
    assert (model.cached_input_price_per_1m, model.unit_price) == (
        Decimal("0.075"),
        Decimal("0.0015"),
    )
    assert UsageRecord.objects.get(request_id="req_tiny").cost_usd == Decimal("1e-10")
    assert UsageRecord.objects.aggregate(s=Sum("cost_usd"))["s"] == Decimal("0.2500000001")
    assert UsageRollup.objects.get().cost_usd == Decimal("0.2500000001")
    assert ApiKey.objects.get().daily_budget_usd == Decimal("9.99")
    assert OcrJob.objects.get().unit_price_usd == Decimal("0.0015")
    if connection.vendor == "sqlite":  # integer units, not REALs
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT typeof(amount_usd) FROM billing_ledgerentry")
            assert cursor.fetchall() == [("integer",)]
