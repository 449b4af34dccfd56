"""Card top-ups: a Checkout Session on (loopback) Stripe; credit only by the signed webhook."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from http import HTTPStatus

import pytest

from billing.checkout import SignatureError, sign, verify_signature
from billing.models import LedgerEntry
from tests.billing.conftest import WEBHOOK_SECRET, checkout_event, wallet_of

pytestmark = pytest.mark.django_db
WEBHOOK = "/billing/stripe/webhook"


def deliver(client, event: dict, *, secret: str = WEBHOOK_SECRET, at: float | None = None):
    payload = json.dumps(event).encode()
    header = sign(payload, secret, int(time.time() if at is None else at))
    return client.post(
        WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


def test_the_wallet_page_starts_a_checkout_session_for_the_amount(client, alice, stripe):
    client.force_login(alice)

    response = client.post("/wallet/topup/", {"amount": "25.50"})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    [sent] = stripe.requests
    assert sent["path"] == "/v1/checkout/sessions"
    assert sent["headers"]["Authorization"] == "Bearer sk_test_portico"
    assert sent["headers"]["Idempotency-Key"]
    form = sent["form"]
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "2550"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["metadata[user_id]"] == str(alice.pk) == form["client_reference_id"]
    assert form["customer_email"] == "alice@example.com"
    assert form["success_url"] == (
        "http://testserver/wallet/topup/success/?session_id={CHECKOUT_SESSION_ID}"
    )
    assert form["cancel_url"] == "http://testserver/wallet/topup/cancelled/"
    assert wallet_of(alice).balance_usd == 0  # nothing until Stripe confirms


@pytest.mark.parametrize("amount", ["4.99", "500.01", "10.001", "ten"])
def test_an_amount_outside_the_bounds_never_reaches_stripe(client, alice, stripe, amount):
    client.force_login(alice)

    response = client.post("/wallet/topup/", {"amount": amount})

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert 'aria-invalid="true"' in page and 'id="id_amount_error"' in page
    assert stripe.requests == []


def test_the_bounds_come_from_settings(client, alice, stripe, settings):
    settings.TOPUP_MIN_USD, settings.TOPUP_MAX_USD = Decimal("1"), Decimal("2")
    client.force_login(alice)
    assert client.post("/wallet/topup/", {"amount": "3"}).status_code == HTTPStatus.OK
    assert client.post("/wallet/topup/", {"amount": "1.5"}).status_code == HTTPStatus.FOUND
    page = client.get("/wallet/").content.decode()
    assert 'min="1"' in page and 'max="2"' in page and "Between $1.00 and $2.00" in page


def test_a_stripe_refusal_is_shown_on_the_form(client, alice, stripe):
    stripe.fail_with = (400, {"error": {"message": "Your account cannot accept payments."}})
    client.force_login(alice)

    response = client.post("/wallet/topup/", {"amount": "20"})

    assert response.status_code == HTTPStatus.OK
    assert "Your account cannot accept payments." in response.content.decode()


def test_the_return_pages_say_the_credit_comes_with_stripes_confirmation(client, alice, stripe):
    client.force_login(alice)
    success = client.get("/wallet/topup/success/?session_id=cs_test_1").content.decode()
    assert "arrives in your wallet as soon as Stripe confirms it" in success
    cancelled = client.get("/wallet/topup/cancelled/").content.decode()
    assert "nothing was charged" in cancelled


def test_a_webhook_delivered_twice_credits_once(client, alice, stripe):
    event = checkout_event(alice, cents=2550)

    first = deliver(client, event)
    second = deliver(client, event)

    assert first.status_code == second.status_code == HTTPStatus.OK
    assert first.json()["outcome"] == "credited"
    assert second.json()["outcome"] == "duplicate: already credited"
    [entry] = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.TOPUP)
    assert entry.idempotency_key == f"stripe:{event['id']}"
    assert entry.amount_usd == Decimal("25.50")
    assert wallet_of(alice).balance_usd == Decimal("25.50")


def test_a_forged_signature_credits_nothing(client, alice, stripe):
    event = checkout_event(alice, cents=50000)

    forged = deliver(client, event, secret="whsec_guessed")
    unsigned = client.post(WEBHOOK, data=json.dumps(event), content_type="application/json")
    payload = json.dumps(event).encode()
    tampered = client.post(
        WEBHOOK,
        data=payload.replace(b"50000", b"90000"),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, WEBHOOK_SECRET, int(time.time())),
    )
    replayed = deliver(client, event, at=time.time() - 301)

    for response in (forged, unsigned, tampered, replayed):
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response.json()["error"]["code"] == "invalid_signature"
    assert not LedgerEntry.objects.exists()
    assert wallet_of(alice).balance_usd == 0


def test_the_amount_credited_is_what_stripe_reports_as_paid(client, alice, stripe):
    # Asked for 20 USD, paid 15 USD after a promotion code: 15 USD is credited.
    response = deliver(client, checkout_event(alice, cents=1500))
    assert response.json()["outcome"] == "credited"
    assert wallet_of(alice).balance_usd == Decimal("15")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"currency": "eur"}, "currency 'eur' is not USD"),
        ({"cents": 0}, "amount_total 0 is not a positive number of cents"),
        ({"session": {"amount_total": "2000"}}, "amount_total '2000'"),
        ({"session": {"amount_total": None}}, "amount_total None"),
        ({"session": {"payment_status": "unpaid"}}, "not paid yet"),
        ({"session": {"metadata": {"user_id": "999999"}}}, "user '999999' is unknown"),
        ({"type": "payment_intent.succeeded"}, "not a payment event"),
    ],
)
def test_an_event_portico_cannot_credit_is_acknowledged_and_credits_nothing(
    client, alice, stripe, overrides, reason
):
    response = deliver(client, checkout_event(alice, **overrides))

    assert response.status_code == HTTPStatus.OK  # Stripe retrying would not help
    assert reason in response.json()["outcome"]
    assert not LedgerEntry.objects.exists()


def test_a_delayed_payment_is_credited_when_it_succeeds(client, alice, stripe):
    pending = checkout_event(alice, session={"payment_status": "unpaid"})
    assert deliver(client, pending).json()["outcome"] == "ignored: not paid yet"
    succeeded = checkout_event(alice, type="checkout.session.async_payment_succeeded")
    succeeded["data"]["object"]["id"] = pending["data"]["object"]["id"]

    assert deliver(client, succeeded).json()["outcome"] == "credited"
    assert wallet_of(alice).balance_usd == Decimal("20")


def test_without_stripe_keys_the_card_option_is_hidden_and_the_webhook_says_so(client, alice):
    client.force_login(alice)

    page = client.get("/wallet/").content.decode()
    refused = client.post(
        WEBHOOK, data=json.dumps(checkout_event(alice)), content_type="application/json"
    )
    topup = client.post("/wallet/topup/", {"amount": "20"}, follow=True)

    assert "Top up by card" not in page and 'name="amount"' not in page
    assert "Redeem a code" in page
    assert refused.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert refused.json()["error"]["message"] == "Stripe is not configured on this Portico."
    assert "Card payments are not available" in topup.content.decode()


def test_with_stripe_keys_the_card_option_is_shown(client, alice, stripe):
    client.force_login(alice)
    page = client.get("/wallet/").content.decode()
    assert "Top up by card" in page and 'name="amount"' in page


def test_signature_verification_accepts_any_of_several_v1_signatures():
    payload = b'{"id": "evt_1"}'
    now = int(time.time())
    good = sign(payload, "whsec_new", now).split("v1=")[1]
    header = f"t={now},v1={'0' * 64},v1={good},v0=ignored"
    verify_signature(payload, header, "whsec_new", tolerance=300)
    for broken in ("", "t=abc,v1=00", f"t={now}", f"v1={good}"):
        with pytest.raises(SignatureError):
            verify_signature(payload, broken, "whsec_new", tolerance=300)


def test_stripe_returns_the_user_to_the_public_site_url(client, alice, stripe, settings):
    settings.SITE_URL = "https://portico.example.com/"
    client.force_login(alice)
    client.post("/wallet/topup/", {"amount": "20"})
    [sent] = stripe.requests
    assert sent["form"]["cancel_url"] == "https://portico.example.com/wallet/topup/cancelled/"
    assert sent["form"]["success_url"].startswith(
        "https://portico.example.com/wallet/topup/success/"
    )


def test_an_unreachable_stripe_is_shown_on_the_form(client, alice, stripe, settings):
    from tests.support.processes import free_port

    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client.force_login(alice)

    response = client.post("/wallet/topup/", {"amount": "20"})

    assert response.status_code == HTTPStatus.OK
    assert "We could not reach Stripe (ConnectError)." in response.content.decode()
