"""The wallet page (balance, ledger, top-ups, redemption codes, low-balance e-mail)
and Stripe's webhook. Views parse, call a use case (``billing.wallets``,
``billing.ledger_page``…) and render."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.support import support_email
from billing import checkout
from billing.errors import BillingError
from billing.forms import RedeemForm, ThresholdForm, TopUpForm
from billing.ledger_page import ledger_page
from billing.redemption import redeem_code
from billing.topups import handle_stripe_event, start_checkout
from billing.wallets import current_organization_id, ensure_wallet, set_low_balance_threshold
from ground.errors import error_response
from ground.money import format_usd, plain
from ground.net import client_ip
from ground.text import strict_int

log = logging.getLogger(__name__)
PAGE_SIZE = 25


def cursor(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    number = strict_int(value)
    return number if number is not None and number >= 0 else None


def absolute_url(request: HttpRequest, name: str) -> str:
    """Stripe sends the user back here: the public ``SITE_URL`` when one is set."""
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/") + reverse(name)
    return request.build_absolute_uri(reverse(name))


def signup_credit_pending(user) -> Decimal | None:
    """The sign-up credit an account still gets by verifying its address (``optional``
    verification lets it in before), or None."""
    amount = settings.SIGNUP_CREDIT_USD
    if amount <= 0 or EmailAddress.objects.filter(user=user, verified=True).exists():
        return None
    return amount


def wallet_context(request: HttpRequest, **forms) -> dict:
    organization_id = current_organization_id(request.user)
    wallet = ensure_wallet(organization_id)
    threshold = wallet.low_balance_threshold_usd
    return {
        "wallet": wallet,
        "page": ledger_page(
            organization_id,
            before=cursor(request, "before"),
            after=cursor(request, "after"),
            size=PAGE_SIZE,
        ),
        "stripe_enabled": checkout.is_configured(),
        "empty": wallet.balance_usd <= 0 and not wallet.unpaid_usd,
        "signup_credit_pending": signup_credit_pending(request.user),
        "support_email": support_email(),
        "topup_form": forms.get("topup_form") or TopUpForm(),
        "redeem_form": forms.get("redeem_form") or RedeemForm(),
        "threshold_form": forms.get("threshold_form")
        or ThresholdForm(initial={"threshold": None if threshold is None else plain(threshold)}),
        "redeemed": forms.get("redeemed"),
    }


@login_required
@require_GET
def wallet(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/wallet.html", wallet_context(request))


@login_required
@require_POST
def redeem(request: HttpRequest) -> HttpResponse:
    """One view for htmx (swaps the form, the balance and the ledger) and plain posts."""
    form = RedeemForm(request.POST)
    redeemed = None
    if form.is_valid():
        try:
            redeemed = redeem_code(request.user, form.cleaned_data["code"], ip=client_ip(request))
        except BillingError as exc:
            form.add_error("code", exc.message)
    if request.htmx:
        context = wallet_context(request, redeem_form=RedeemForm() if redeemed else form)
        context["redeemed"] = redeemed
        return render(request, "billing/_redeem_response.html", context)
    if redeemed is not None:
        messages.success(
            request, f"Code {redeemed.code} redeemed: {format_usd(redeemed.amount)} added."
        )
        return redirect("wallet")
    return render(request, "billing/wallet.html", wallet_context(request, redeem_form=form))


@login_required
@require_POST
def threshold(request: HttpRequest) -> HttpResponse:
    form = ThresholdForm(request.POST)
    if form.is_valid():
        value = form.cleaned_data["threshold"]
        set_low_balance_threshold(current_organization_id(request.user), value)
        if value is None:
            messages.success(request, "Low-balance e-mails are off.")
        else:
            messages.success(
                request, f"We will e-mail you when your balance falls below {format_usd(value)}."
            )
        return redirect("wallet")
    return render(request, "billing/wallet.html", wallet_context(request, threshold_form=form))


@login_required
@require_POST
def topup(request: HttpRequest) -> HttpResponse:
    """Send the user to Stripe Checkout; the credit arrives later, by webhook."""
    if not checkout.is_configured():
        messages.error(request, "Card payments are not available on this Portico.")
        return redirect("wallet")
    form = TopUpForm(request.POST)
    if form.is_valid():
        try:
            url = start_checkout(
                request.user,
                form.cleaned_data["amount"],
                organization_id=current_organization_id(request.user),
                success_url=absolute_url(request, "wallet-topup-success")
                + "?session_id={CHECKOUT_SESSION_ID}",
                cancel_url=absolute_url(request, "wallet-topup-cancelled"),
            )
        except BillingError as exc:
            form.add_error("amount", exc.message)
        else:
            return redirect(url)
    return render(request, "billing/wallet.html", wallet_context(request, topup_form=form))


@login_required
@require_GET
def topup_success(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/topup_return.html", {"outcome": "success"})


@login_required
@require_GET
def topup_cancelled(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/topup_return.html", {"outcome": "cancelled"})


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's signed events; only ``checkout.session.*`` payments credit a wallet."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        return error_response(503, "Stripe is not configured on this Portico.")
    try:
        checkout.verify_signature(
            request.body,
            request.headers.get("Stripe-Signature", ""),
            secret,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except checkout.SignatureError as exc:
        log.warning("Stripe webhook refused: %s", exc)
        return error_response(400, str(exc), code="invalid_signature")
    try:
        event = json.loads(request.body)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        return error_response(400, "The event is not a JSON object.", code="invalid_json")
    outcome = handle_stripe_event(event)
    return JsonResponse({"received": True, "outcome": outcome})
