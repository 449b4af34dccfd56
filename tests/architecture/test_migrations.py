"""A database made by the release before the move (keys and usage in ``gateway``, bare
integer key ids on holds and OCR jobs) migrates forward with its rows intact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
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
    wallet = Wallet.objects.create(user=user, balance_usd=Decimal("5"))
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
    )
    return {"user": user.pk, "key": key.pk}


def test_an_old_database_migrates_forward_without_losing_rows():
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
