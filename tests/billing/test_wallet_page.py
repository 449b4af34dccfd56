"""The wallet page: balance, ledger paging, redemption (htmx and plain), threshold."""

from __future__ import annotations

import re
from decimal import Decimal
from http import HTTPStatus

import pytest

from billing.holds import reserve_funds
from tests.billing.conftest import fund, make_batch, wallet_of
from tests.support.html import money_span, visible_text
from tests.support.orgs import org_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_wallet_page_needs_a_sign_in(client):
    response = client.get("/wallet/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/accounts/login/")


def test_it_shows_balance_held_and_available_in_dollars(signed_in, alice):
    fund(alice, "12.5")
    reserve_funds(org_id(alice), "req_inflight", Decimal("0.00025"))

    page = text_of(signed_in.get("/wallet/"))

    # In cents, the exact amount in each one's title.
    assert f'data-testid="balance">{money_span("$12.50")}<' in page
    assert f'data-testid="held">{money_span("<$0.01", "$0.00025")}<' in page
    assert f'data-testid="available">{money_span("$12.50", "$12.49975")}<' in page
    assert "+$12.50" in visible_text(page) and "test funds" in page


def test_it_shows_only_your_own_ledger(signed_in, alice, bob):
    fund(bob, "99")
    page = text_of(signed_in.get("/wallet/"))
    assert "$99" not in page and "No credits or charges yet." in page


def test_the_ledger_pages_by_25_newest_first(signed_in, alice):
    for index in range(30):
        fund(alice, f"{index + 1}")

    first = text_of(signed_in.get("/wallet/"))
    assert first.count("test funds") == 25
    assert ">+$30.00<" in first and ">+$6.00<" in first and ">+$5.00<" not in first
    assert money_span("+$30.00") in first
    older = re.search(r'href="(/wallet/\?before=\d+)#wallet-ledger"', first).group(1)
    assert "?after=" not in first

    second = text_of(signed_in.get(older))
    assert second.count("test funds") == 5 and ">+$5.00<" in second and ">+$1.00<" in second
    assert "?before=" not in second
    newer = re.search(r'href="(/wallet/\?after=\d+)#wallet-ledger"', second).group(1)
    assert text_of(signed_in.get(newer)).count("test funds") == 25


def test_redeeming_with_htmx_swaps_the_form_balance_and_ledger(signed_in, alice):
    code = make_batch("10", 1).codes.get().code

    response = signed_in.post("/wallet/redeem/", {"code": code}, HTTP_HX_REQUEST="true")

    assert response.status_code == HTTPStatus.OK
    fragment = text_of(response)
    assert "<html" not in fragment
    assert 'id="redeem-form"' in fragment
    assert f"Code {code} redeemed: $10.00 added. Your balance is now $10.00." in visible_text(
        fragment
    )
    assert 'id="redeem-status" hx-swap-oob="innerHTML"' in fragment
    assert 'id="wallet-summary"' in fragment
    assert f'data-testid="balance">{money_span("$10.00")}<' in fragment
    assert 'id="wallet-ledger"' in fragment
    assert f"Redemption code {code} +$10.00" in visible_text(fragment)  # the kind once
    assert fragment.count('hx-swap-oob="true"') == 3
    # The empty-wallet advice goes away with the first credit.
    assert '<div id="wallet-empty" hx-swap-oob="true">' in fragment
    assert "Your wallet is empty" not in fragment
    assert wallet_of(alice).balance_usd == Decimal("10")


def test_a_wrong_code_with_htmx_shows_an_error_linked_to_the_field(signed_in, alice):
    response = signed_in.post(
        "/wallet/redeem/", {"code": "PORT-2222-3333-4444"}, HTTP_HX_REQUEST="true"
    )

    fragment = text_of(response)
    assert response.status_code == HTTPStatus.OK
    assert "PORT-2222-3333-4444 is not a valid code. Check it for typos." in fragment
    assert 'aria-invalid="true"' in fragment
    assert 'aria-describedby="id_code_helptext id_code_error"' in fragment
    assert 'id="id_code_error"' in fragment
    assert f'data-testid="balance">{money_span("$0.00")}<' in fragment


def test_redeeming_without_javascript_redirects_with_a_message(signed_in, alice):
    code = make_batch("5", 1).codes.get().code

    response = signed_in.post("/wallet/redeem/", {"code": code}, follow=True)

    assert response.redirect_chain == [("/wallet/", HTTPStatus.FOUND)]
    page = text_of(response)
    assert f"Code {code} redeemed: $5.00 added." in page
    assert f'data-testid="balance">{money_span("$5.00")}<' in page


def test_a_wrong_code_without_javascript_renders_the_page_with_the_error(signed_in):
    response = signed_in.post("/wallet/redeem/", {"code": ""})
    assert response.status_code == HTTPStatus.OK
    page = text_of(response)
    assert "<html" in page and "This field is required." in page
    assert 'aria-invalid="true"' in page


def test_too_many_wrong_codes_are_refused_on_the_page(signed_in, settings):
    settings.REDEEM_FAILURES_PER_HOUR = 2
    for _ in range(2):
        signed_in.post("/wallet/redeem/", {"code": "PORT-2222-3333-4444"})
    page = text_of(signed_in.post("/wallet/redeem/", {"code": "PORT-2222-3333-4444"}))
    assert "Too many wrong codes" in page


def test_the_low_balance_threshold_is_saved_and_cleared(signed_in, alice):
    response = signed_in.post("/wallet/threshold/", {"threshold": "2.50"}, follow=True)
    assert "We will e-mail you when your balance falls below $2.50." in text_of(response)
    assert wallet_of(alice).low_balance_threshold_usd == Decimal("2.5")
    assert 'value="2.5"' in text_of(signed_in.get("/wallet/"))

    response = signed_in.post("/wallet/threshold/", {"threshold": ""}, follow=True)
    assert "Low-balance e-mails are off." in text_of(response)
    assert wallet_of(alice).low_balance_threshold_usd is None


def test_a_negative_threshold_is_refused_on_the_form(signed_in, alice):
    page = text_of(signed_in.post("/wallet/threshold/", {"threshold": "-1"}))
    assert 'id="id_threshold_error"' in page and 'aria-invalid="true"' in page
    assert wallet_of(alice).low_balance_threshold_usd is None


def test_every_field_has_a_label(signed_in):
    page = signed_in.get("/wallet/").content.decode()
    for field_id in ("id_code", "id_threshold"):
        assert f'<label for="{field_id}">' in page
        assert f'aria-describedby="{field_id}_helptext"' in page


def test_a_whole_dollar_threshold_is_shown_plainly(signed_in, alice):
    signed_in.post("/wallet/threshold/", {"threshold": "100"})
    assert 'name="threshold" value="100"' in text_of(signed_in.get("/wallet/"))
