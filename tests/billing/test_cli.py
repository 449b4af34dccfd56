"""``manage.py wallet``: balance, credit and debit from the command line."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.holds import reserve_funds
from billing.models import LedgerEntry
from tests.billing.conftest import fund, wallet_of
from tests.support.orgs import org_id

pytestmark = pytest.mark.django_db


def wallet(*args: str) -> str:
    out = StringIO()
    call_command("wallet", *args, stdout=out)
    return out.getvalue()


def test_balance_prints_the_same_fields_as_the_api(alice):
    fund(alice, "10")
    reserve_funds(org_id(alice), "req_cli", Decimal("0.25"))

    text = wallet("balance", "ALICE@example.com")
    as_json = json.loads(wallet("balance", "alice@example.com", "--json"))

    assert as_json == {
        "balance_usd": "10",
        "held_usd": "0.25",
        "available_usd": "9.75",
        "unpaid_usd": "0",
        "currency": "USD",
        "organization": alice.personal_organization.public_id,
    }
    assert text.splitlines() == [
        "balance_usd    10",
        "held_usd       0.25",
        "available_usd  9.75",
        "unpaid_usd     0",
        "currency       USD",
        f"organization   {alice.personal_organization.public_id}",
    ]


def test_credit_records_the_reason(alice):
    out = wallet("credit", "alice@example.com", "12.50", "--reason", "invoice 42 paid")

    assert "Credited $12.50 to alice@example.com" in out
    entry = LedgerEntry.objects.get()
    assert (entry.amount_usd, entry.kind, entry.staff_note, entry.description, entry.actor) == (
        Decimal("12.5"),
        "adjustment",
        "invoice 42 paid",
        "",
        None,
    )


def test_debit_takes_funds_and_refuses_more_than_available(alice):
    fund(alice, "5")
    reserve_funds(org_id(alice), "req_cli", Decimal("1"))

    with pytest.raises(CommandError, match=r"larger than the available balance of \$4\.00"):
        wallet("debit", "alice@example.com", "4.01", "--reason", "refund")
    out = wallet("debit", "alice@example.com", "4", "--reason", "refund")

    assert "Debited $4.00 from alice@example.com" in out
    assert wallet_of(alice).balance_usd == Decimal("1")


@pytest.mark.parametrize("amount", ["0", "-3", "abc", "NaN", "1e-11"])
def test_a_bad_amount_is_refused(alice, amount):
    with pytest.raises(CommandError):
        wallet("credit", "alice@example.com", amount, "--reason", "x")
    assert not LedgerEntry.objects.exists()


def test_a_reason_is_required(alice):
    with pytest.raises(CommandError, match="reason"):
        wallet("credit", "alice@example.com", "5")
    with pytest.raises(CommandError, match="A reason is required"):
        wallet("credit", "alice@example.com", "5", "--reason", "  ")


def test_an_unknown_user_is_refused():
    with pytest.raises(CommandError, match=r"No user with e-mail 'nobody@example\.com'"):
        wallet("balance", "nobody@example.com")
