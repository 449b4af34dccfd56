"""Stripe Checkout over its REST API: create a session, verify a webhook's signature.

Stripe is called with plain form-encoded HTTP (``httpx``) rather than the ``stripe``
package: Portico needs two calls' worth of it, and ``STRIPE_API_BASE`` lets tests
point it at a local server. Signatures follow Stripe's scheme: the ``Stripe-Signature``
header is ``t=<unix time>,v1=<hex HMAC-SHA256 of "{t}.{payload}">`` (several ``v1``
values while a secret is being rolled).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from decimal import Decimal

import httpx
from django.conf import settings

from ground.text import strict_int

TIMEOUT = httpx.Timeout(15.0, connect=5.0)
CENT = Decimal("0.01")


class StripeError(Exception):
    """Stripe refused a call or could not be reached; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SignatureError(Exception):
    """A webhook whose ``Stripe-Signature`` does not prove it came from Stripe."""


def is_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


def to_cents(amount: Decimal) -> int:
    return int((amount / CENT).to_integral_exact())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENT)


def create_checkout_session(
    *,
    amount: Decimal,
    user_id: int,
    organization_id: int,
    email: str,
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> CheckoutSession:
    """``POST /v1/checkout/sessions``: a one-off payment of ``amount`` USD of Portico credit."""
    form = {
        "mode": "payment",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": str(to_cents(amount)),
        "line_items[0][price_data][product_data][name]": "Portico credit",
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(user_id),
        "customer_email": email,
        "metadata[user_id]": str(user_id),
        "payment_intent_data[metadata][user_id]": str(user_id),
        "metadata[organization_id]": str(organization_id),
        "payment_intent_data[metadata][organization_id]": str(organization_id),
    }
    try:
        response = httpx.post(
            settings.STRIPE_API_BASE.rstrip("/") + "/v1/checkout/sessions",
            data=form,
            headers={
                "Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}",
                "Idempotency-Key": idempotency_key,
            },
            timeout=TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise StripeError(f"We could not reach Stripe ({type(exc).__name__}).") from exc
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.status_code != 200 or not payload.get("url"):
        detail = (payload.get("error") or {}).get("message") or f"HTTP {response.status_code}"
        raise StripeError(f"Stripe refused to start the payment: {detail}")
    return CheckoutSession(id=payload["id"], url=payload["url"])


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """A ``Stripe-Signature`` header value, as Stripe computes it (tests sign with this)."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(
    payload: bytes, header: str, secret: str, *, tolerance: int, now: float | None = None
) -> None:
    """Raise ``SignatureError`` unless ``header`` signs ``payload`` within ``tolerance`` seconds."""
    timestamp, candidates = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and strict_int(value) is not None:
            timestamp = strict_int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("The Stripe-Signature header is missing or malformed.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError("The Stripe-Signature timestamp is outside the tolerance.")
    expected = sign(payload, secret, timestamp).rpartition("v1=")[2]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise SignatureError("The Stripe-Signature does not match the payload.")
