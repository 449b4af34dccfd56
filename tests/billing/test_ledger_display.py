"""What the owner's ledger shows and what stays with staff: the kind said once, staff
notes staff-only, a large adjustment confirmed twice, a new batch's codes on its page."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from billing.credits import admin_adjust
from billing.models import LedgerEntry, RedemptionBatch
from billing.redemption import redeem_code
from tests.billing.conftest import fund, make_batch, wallet_of
from tests.billing.test_admin import adjust_form, adjust_url
from tests.support.html import money_span, visible_text
from tests.support.orgs import org_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


def ledger_text(client, user) -> str:
    client.force_login(user)
    page = client.get("/wallet/").content.decode()
    return visible_text(page.split('id="wallet-ledger"')[1])


def test_a_ledger_line_names_its_kind_once(client, alice):
    code = make_batch("2.5", 1).codes.get().code
    redeem_code(alice, code)

    line = ledger_text(client, alice)

    assert f"Redemption code {code} +$2.50" in line
    assert "Redemption code Redemption code" not in line


@pytest.mark.parametrize(
    ("kind", "description", "shown"),
    [
        ("redemption", "Redemption code PORT-AAAA", "PORT-AAAA"),
        ("topup", "Card top-up (Stripe cs_123)", "Stripe cs_123"),
        ("signup", "Welcome to Portico", "Welcome to Portico"),
        ("adjustment", "", ""),
    ],
)
def test_the_detail_drops_a_repeated_kind(kind, description, shown):
    assert LedgerEntry(kind=kind, description=description).detail == shown


def test_a_staff_note_never_reaches_the_owner(client, alice, staff_user):
    admin_adjust(org_id(alice), Decimal("3"), reason="undo typo", actor=staff_user)
    admin_adjust(
        org_id(alice),
        Decimal("2"),
        reason="ticket 981",
        note="Sorry for the outage",
        actor=staff_user,
    )

    line = ledger_text(client, alice)

    assert "undo typo" not in line and "ticket 981" not in line
    assert "Admin adjustment Sorry for the outage +$2.00" in line
    assert "Admin adjustment +$3.00" in line

    client.force_login(staff_user)
    listing = client.get("/admin/billing/ledgerentry/").content.decode()
    assert "undo typo" in listing and "ticket 981" in listing
    found = client.get("/admin/billing/ledgerentry/", {"q": "undo typo"})
    assert [e.staff_note for e in found.context["cl"].result_list] == ["undo typo"]


def test_the_admin_form_keeps_the_reason_for_staff_and_the_note_for_the_user(admin_client, alice):
    data = adjust_form(admin_client, alice) | {
        "amount": "4",
        "reason": "goodwill, approved by Kim",
        "note": "Credit for the outage on 3 May",
    }

    admin_client.post(adjust_url(alice), data)

    entry = LedgerEntry.objects.get(kind="adjustment")
    assert (entry.staff_note, entry.description) == (
        "goodwill, approved by Kim",
        "Credit for the outage on 3 May",
    )


def test_a_large_credit_waits_for_a_second_confirmation(admin_client, alice, settings):
    settings.ADJUSTMENT_CONFIRM_ABOVE_USD = Decimal("1000")
    data = adjust_form(admin_client, alice) | {
        "amount": "50000000",
        "reason": "typo?",
    }  # under the largest amount anyone may enter ($100M)

    first = admin_client.post(adjust_url(alice), data)

    assert first.status_code == HTTPStatus.OK
    assert not LedgerEntry.objects.exists()
    text = visible_text(first)
    assert "Credit $50,000,000.00 to alice@example.com?" in text
    assert "more than $1,000.00" in text
    assert 'name="confirmed_amount" value="50000000"' in first.content.decode()

    # A confirmation of another amount (the form edited since) confirms nothing.
    again = admin_client.post(adjust_url(alice), data | {"confirmed_amount": "1000"})
    assert "needs a second look" in visible_text(again)
    assert not LedgerEntry.objects.exists()

    # "No, change it" goes back to the form with the values kept, unconfirmed.
    edit = admin_client.post(
        adjust_url(alice), data | {"confirmed_amount": "50000000", "_edit": "1"}
    )
    assert 'value="50000000"' in edit.content.decode()
    assert 'name="confirmed_amount"' not in edit.content.decode()
    assert not LedgerEntry.objects.exists()

    done = admin_client.post(
        adjust_url(alice), data | {"confirmed_amount": "50000000", "_confirm": "1"}
    )
    assert done.status_code == HTTPStatus.FOUND
    assert wallet_of(alice).balance_usd == Decimal("50000000")


def test_a_large_deduction_is_confirmed_too_and_a_small_one_is_not(admin_client, alice, settings):
    settings.ADJUSTMENT_CONFIRM_ABOVE_USD = Decimal("100")
    fund(alice, "500")

    big = admin_client.post(
        adjust_url(alice), adjust_form(admin_client, alice) | {"amount": "-150", "reason": "x"}
    )
    assert "Deduct $150.00 from alice@example.com?" in visible_text(big)
    assert wallet_of(alice).balance_usd == Decimal("500")

    small = admin_client.post(
        adjust_url(alice), adjust_form(admin_client, alice) | {"amount": "-100", "reason": "x"}
    )
    assert small.status_code == HTTPStatus.FOUND
    assert wallet_of(alice).balance_usd == Decimal("400")


def test_batches_read_as_money_and_a_new_batch_shows_its_codes(admin_client):
    make_batch("2.5", 3)
    listing = admin_client.get("/admin/billing/redemptionbatch/").content.decode()
    assert money_span("$2.50") in listing
    assert "3 × $2.50" in listing and "2.50 USD" not in listing

    response = admin_client.post(
        "/admin/billing/redemptionbatch/add/",
        {"amount_usd": "20", "count": "4", "expires_at_0": "", "expires_at_1": "", "note": ""},
        follow=True,
    )

    batch = RedemptionBatch.objects.order_by("-pk").first()
    assert response.redirect_chain[-1][0] == f"/admin/billing/redemptionbatch/{batch.pk}/change/"
    page = response.content.decode()
    assert "Generated 4 codes worth $20.00 each; they are listed below." in page
    codes = page.split('data-testid="batch-codes">')[1].split("</textarea>")[0].split("\n")
    assert sorted(codes) == sorted(batch.codes.values_list("code", flat=True))


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_old_adjustment_reasons_out_of_the_owners_ledger(alice, settings):
    settings.SQLITE_REFUSE_DECIMAL_PARAMS = False  # that release's fields bound decimals as text
    executor = MigrationExecutor(connection)
    executor.migrate([("billing", "0006_hold_kind")])
    apps = executor.loader.project_state([("billing", "0006_hold_kind")]).apps
    Wallet = apps.get_model("billing", "Wallet")
    Entry = apps.get_model("billing", "LedgerEntry")
    wallet, _ = Wallet.objects.get_or_create(user_id=alice.pk)
    for key, kind, description in (
        ("adjust:abc", "adjustment", "undo typo"),
        ("demo-credit:1", "adjustment", "Demo credit"),
        ("redeem:PORT-1", "redemption", "Redemption code PORT-1"),
    ):
        Entry.objects.create(
            wallet=wallet,
            kind=kind,
            amount_usd=1,
            balance_after_usd=1,
            idempotency_key=key,
            description=description,
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    moved = {e.idempotency_key: (e.description, e.staff_note) for e in LedgerEntry.objects.all()}
    assert moved == {
        "adjust:abc": ("", "undo typo"),
        "demo-credit:1": ("Demo credit", ""),
        "redeem:PORT-1": ("Redemption code PORT-1", ""),
    }
