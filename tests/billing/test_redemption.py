"""Redemption codes: generated in batches, redeemed once, guarded against guessing."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.errors import BillingError
from billing.models import LedgerEntry, RedemptionBatch, RedemptionCode
from billing.redemption import CODE_ALPHABET, create_redemption_batch, normalize_code, redeem_code
from tests.billing.conftest import assert_ledger_invariants, make_batch, wallet_of

CODE = re.compile(rf"^PORT-[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")


@pytest.mark.django_db
def test_a_batch_generates_unique_human_friendly_codes(staff_user):
    batch = make_batch("25", 200, note="conference", created_by=staff_user)

    codes = list(batch.codes.values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 200
    assert all(CODE.match(code) for code in codes)
    assert not set("01ILOUV") & set("".join(c[5:] for c in codes))
    assert str(batch) == f"Batch {batch.pk}: 200 × $25.00 (conference)"


@pytest.mark.django_db
def test_a_batch_needs_a_positive_amount_and_a_sane_count():
    with pytest.raises(BillingError):
        create_redemption_batch(RedemptionBatch(amount_usd=Decimal(0), count=1))
    with pytest.raises(BillingError):
        create_redemption_batch(RedemptionBatch(amount_usd=Decimal(1), count=0))
    assert not RedemptionBatch.objects.exists()


def test_codes_are_read_forgivingly():
    assert normalize_code(" port-abcd-efgh-jkmn ") == "PORT-ABCD-EFGH-JKMN"
    assert normalize_code("abcdefghjkmn") == "PORT-ABCD-EFGH-JKMN"
    assert normalize_code("PORT ABCD EFGH JKMN") == "PORT-ABCD-EFGH-JKMN"
    assert normalize_code("PORT-ABCD-EFGH-JKM") is None
    assert normalize_code("PORT-ABCD-EFGH-JKM0") is None  # 0 is never in a code
    assert normalize_code("") is None


@pytest.mark.django_db
def test_a_code_credits_its_amount_once(alice, bob):
    code = make_batch("10", 1).codes.get()

    redeemed = redeem_code(alice, code.code.lower())

    assert redeemed.amount == Decimal("10") and redeemed.code == code.code
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REDEMPTION)
    assert entry.idempotency_key == f"redeem:{code.code}"
    assert entry.amount_usd == Decimal("10") and entry.wallet == wallet_of(alice)
    code.refresh_from_db()
    assert code.redeemed_by == alice and code.redeemed_at is not None

    with pytest.raises(BillingError) as again:
        redeem_code(alice, code.code)
    assert again.value.code == "code_used" and "You have already" in again.value.message
    with pytest.raises(BillingError) as other:
        redeem_code(bob, code.code)
    assert other.value.code == "code_used" and "Someone has already" in other.value.message
    assert wallet_of(alice).balance_usd == Decimal("10") and wallet_of(bob).balance_usd == 0
    assert_ledger_invariants(alice)


@pytest.mark.django_db
def test_an_expired_code_is_refused_with_its_date(alice):
    expired = timezone.now() - timedelta(minutes=1)
    code = make_batch("10", 1, expires_at=expired).codes.get()

    with pytest.raises(BillingError) as refused:
        redeem_code(alice, code.code)

    assert refused.value.code == "code_expired"
    assert f"expired on {expired:%Y-%m-%d}" in refused.value.message
    assert wallet_of(alice).balance_usd == 0
    code.refresh_from_db()
    assert code.redeemed_at is None


@pytest.mark.django_db
def test_wrong_codes_are_refused_clearly(alice):
    make_batch("10", 1)
    with pytest.raises(BillingError) as malformed:
        redeem_code(alice, "hello")
    assert malformed.value.code == "invalid_code"
    assert "PORT-XXXX-XXXX-XXXX" in malformed.value.message
    with pytest.raises(BillingError) as unknown:
        redeem_code(alice, "PORT-2222-3333-4444")
    assert unknown.value.code == "invalid_code" and "Check it for typos" in unknown.value.message


@pytest.mark.django_db
def test_ten_wrong_codes_in_an_hour_lock_the_user_out_even_of_a_right_one(alice, settings):
    settings.REDEEM_FAILURES_PER_HOUR = 10
    good = make_batch("10", 1).codes.get()
    for _ in range(10):
        with pytest.raises(BillingError) as wrong:
            redeem_code(alice, "PORT-2222-3333-4444", ip="198.51.100.7")
        assert wrong.value.code == "invalid_code"

    with pytest.raises(BillingError) as limited:
        redeem_code(alice, good.code, ip="203.0.113.9")

    assert limited.value.code == "rate_limited"
    assert wallet_of(alice).balance_usd == 0


@pytest.mark.django_db
def test_wrong_codes_from_one_address_lock_out_every_account_there(alice, bob, settings):
    settings.REDEEM_FAILURES_PER_HOUR = 3
    good = make_batch("10", 1).codes.get()
    for _ in range(3):
        with pytest.raises(BillingError):
            redeem_code(alice, "PORT-2222-3333-4444", ip="198.51.100.7")

    with pytest.raises(BillingError) as limited:
        redeem_code(bob, good.code, ip="198.51.100.7")
    assert limited.value.code == "rate_limited"

    assert redeem_code(bob, good.code, ip="192.0.2.1").amount == Decimal("10")


@pytest.mark.django_db(transaction=True)
def test_two_users_redeeming_one_code_at_once_credit_it_exactly_once(alice, bob):
    code = make_batch("7.5", 1).codes.get().code
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def attempt(user) -> None:
        try:
            barrier.wait(timeout=10)
            redeem_code(user, code)
            results[user.email] = "ok"
        except BillingError as exc:
            results[user.email] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(user,)) for user in (alice, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results.values()) == ["code_used", "ok"]
    winner = alice if results[alice.email] == "ok" else bob
    loser = bob if winner is alice else alice
    assert wallet_of(winner).balance_usd == Decimal("7.5")
    assert wallet_of(loser).balance_usd == 0
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REDEMPTION).count() == 1
    assert RedemptionCode.objects.get(code=code).redeemed_by == winner
