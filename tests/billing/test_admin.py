"""The billing admin: audited adjustments, a read-only ledger, redemption batches and CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.admin.models import LogEntry

from billing.holds import reserve_funds
from billing.models import LedgerEntry, RedemptionBatch, RedemptionCode
from billing.redemption import redeem_code
from tests.billing.conftest import fund, make_batch, wallet_of
from tests.support.html import money_span
from tests.support.orgs import org_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


def adjust_url(user) -> str:
    return f"/admin/billing/wallet/{wallet_of(user).pk}/adjust/"


def adjust_form(admin_client, user) -> dict:
    page = admin_client.get(adjust_url(user)).content.decode()
    token = page.split('name="token" value="')[1].split('"')[0]
    return {"token": token}


def test_the_wallet_list_shows_balance_held_and_available(admin_client, alice):
    fund(alice, "10")
    reserve_funds(org_id(alice), "req_x", Decimal("2.5"))
    page = admin_client.get("/admin/billing/wallet/").content.decode()
    assert "alice@example.com" in page
    for value in (
        f'<td class="field-balance">{money_span("$10.00")}</td>',
        f'"field-held">{money_span("$2.50")}<',
        f'"field-available">{money_span("$7.50")}<',
    ):
        assert value in page
    assert "Adjust balance…" in page


def test_an_admin_credit_records_the_reason_and_the_admin(admin_client, alice, staff_user):
    data = adjust_form(admin_client, alice) | {"amount": "15", "reason": "Welcome credit"}

    response = admin_client.post(adjust_url(alice), data, follow=True)

    assert "Credited $15.00; the balance of alice@example.com is $15.00." in (
        response.content.decode()
    )
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.ADJUSTMENT)
    assert (entry.amount_usd, entry.staff_note, entry.description, entry.actor) == (
        Decimal("15"),
        "Welcome credit",
        "",  # the reason is for staff: the owner's ledger reads "Admin adjustment"
        staff_user,
    )
    assert LogEntry.objects.get().change_message == "Adjusted by $15.00: Welcome credit"
    # The same form posted again (a double click) does not credit twice.
    admin_client.post(adjust_url(alice), data)
    assert wallet_of(alice).balance_usd == Decimal("15")


def test_an_adjustment_without_a_reason_is_refused(admin_client, alice):
    data = adjust_form(admin_client, alice) | {"amount": "15", "reason": "   "}

    response = admin_client.post(adjust_url(alice), data)

    assert response.status_code == HTTPStatus.OK
    assert "This field is required." in response.content.decode()
    assert not LedgerEntry.objects.exists()


def test_a_deduction_larger_than_available_is_refused_clearly(admin_client, alice):
    fund(alice, "10")
    reserve_funds(org_id(alice), "req_busy", Decimal("4"))
    data = adjust_form(admin_client, alice) | {"amount": "-7", "reason": "chargeback"}

    response = admin_client.post(adjust_url(alice), data)

    page = response.content.decode()
    assert "A debit of $7.00 is larger than the available balance of $6.00." in page
    assert wallet_of(alice).balance_usd == Decimal("10")

    data = adjust_form(admin_client, alice) | {"amount": "-6", "reason": "chargeback"}
    admin_client.post(adjust_url(alice), data)
    assert wallet_of(alice).balance_usd == Decimal("4")


def test_the_adjust_action_opens_the_form_for_one_wallet(admin_client, alice, bob):
    response = admin_client.post(
        "/admin/billing/wallet/",
        {"action": "adjust_balance", "_selected_action": [wallet_of(alice).pk]},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == adjust_url(alice)

    both = [wallet_of(alice).pk, wallet_of(bob).pk]
    response = admin_client.post(
        "/admin/billing/wallet/",
        {"action": "adjust_balance", "_selected_action": both},
        follow=True,
    )
    assert "Choose exactly one wallet to adjust." in response.content.decode()


def test_someone_without_wallet_permissions_cannot_adjust(client, alice):
    from accounts.models import User

    clerk = User.objects.create_user(email="clerk@example.com", password="x", is_staff=True)
    client.force_login(clerk)
    assert client.get(adjust_url(alice)).status_code == HTTPStatus.FORBIDDEN


def test_the_ledger_and_holds_are_read_only(admin_client, alice):
    fund(alice, "1")
    reserve_funds(org_id(alice), "req_y", Decimal("0.5"))
    entry = LedgerEntry.objects.get()

    assert admin_client.get("/admin/billing/ledgerentry/").status_code == HTTPStatus.OK
    assert admin_client.get("/admin/billing/ledgerentry/?kind__exact=adjustment").status_code == (
        HTTPStatus.OK
    )
    detail = admin_client.get(f"/admin/billing/ledgerentry/{entry.pk}/change/").content.decode()
    assert 'name="amount_usd"' not in detail and "test funds" in detail
    assert admin_client.get("/admin/billing/ledgerentry/add/").status_code == HTTPStatus.FORBIDDEN
    delete = admin_client.post(f"/admin/billing/ledgerentry/{entry.pk}/delete/", {"post": "yes"})
    assert delete.status_code == HTTPStatus.FORBIDDEN
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()
    assert admin_client.get("/admin/billing/hold/").status_code == HTTPStatus.OK
    assert admin_client.get("/admin/billing/hold/add/").status_code == HTTPStatus.FORBIDDEN


def test_an_admin_creates_a_batch_and_its_codes_are_generated(admin_client, staff_user):
    response = admin_client.post(
        "/admin/billing/redemptionbatch/add/",
        {
            "amount_usd": "20",
            "count": "5",
            "expires_at_0": "",
            "expires_at_1": "",
            "note": "meetup",
        },
        follow=True,
    )

    assert "Generated 5 codes worth $20.00 each; they are listed below." in (
        response.content.decode()
    )
    batch = RedemptionBatch.objects.get()
    assert (batch.count, batch.amount_usd, batch.created_by) == (5, Decimal("20"), staff_user)
    assert batch.codes.count() == 5
    change = admin_client.get(f"/admin/billing/redemptionbatch/{batch.pk}/change/")
    page = change.content.decode()
    assert all(code in page for code in batch.codes.values_list("code", flat=True))
    assert 'name="amount_usd"' not in page  # codes exist: the amount is fixed


def test_a_batch_needs_a_positive_amount_and_a_count_in_range(admin_client):
    response = admin_client.post(
        "/admin/billing/redemptionbatch/add/",
        {"amount_usd": "0", "count": "20000", "note": ""},
    )
    page = response.content.decode()
    assert "Each code must be worth a positive amount." in page
    assert "Ensure this value is less than or equal to 10000." in page
    assert not RedemptionCode.objects.exists()


def test_batches_export_as_csv_with_who_redeemed_what(admin_client, alice):
    batch = make_batch("10", 3, note="=HYPERLINK(evil)")
    used = batch.codes.first()
    redeem_code(alice, used.code)

    response = admin_client.post(
        "/admin/billing/redemptionbatch/",
        {"action": "export_csv", "_selected_action": [batch.pk]},
    )

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 3
    assert {row["code"] for row in rows} == set(batch.codes.values_list("code", flat=True))
    assert all(row["amount_usd"] == "10" and row["note"] == "'=HYPERLINK(evil)" for row in rows)
    [redeemed] = [row for row in rows if row["redeemed_by"]]
    assert (redeemed["code"], redeemed["redeemed_by"]) == (used.code, "alice@example.com")
    listing = admin_client.get("/admin/billing/redemptionbatch/").content.decode()
    assert '<td class="field-redeemed">1</td>' in listing


def test_saving_a_wallet_in_the_admin_changes_only_its_threshold(admin_client, alice, monkeypatch):
    from billing.admin import WalletAdmin

    url = f"/admin/billing/wallet/{wallet_of(alice).pk}/change/"
    assert admin_client.get(url).status_code == HTTPStatus.OK
    loaded = WalletAdmin.get_object

    def load_then_credit(self, request, object_id, from_field=None):
        wallet = loaded(self, request, object_id, from_field)
        fund(alice, "10")  # settled by another process while the admin's request runs
        return wallet

    monkeypatch.setattr(WalletAdmin, "get_object", load_then_credit)

    response = admin_client.post(url, {"low_balance_threshold_usd": "100"})

    assert response.status_code == HTTPStatus.FOUND
    wallet = wallet_of(alice)
    assert (wallet.balance_usd, wallet.low_balance_threshold_usd) == (Decimal("10"), 100)
    assert wallet.low_balance_notified  # already below: no mail until the next crossing
    refused = admin_client.post(url, {"low_balance_threshold_usd": "-1"})
    assert "The threshold cannot be negative." in refused.content.decode()
