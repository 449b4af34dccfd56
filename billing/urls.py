from __future__ import annotations

from django.urls import path

from billing import views

urlpatterns = [
    path("wallet/", views.wallet, name="wallet"),
    path("wallet/redeem/", views.redeem, name="wallet-redeem"),
    path("wallet/threshold/", views.threshold, name="wallet-threshold"),
    path("wallet/topup/", views.topup, name="wallet-topup"),
    path("wallet/topup/success/", views.topup_success, name="wallet-topup-success"),
    path("wallet/topup/cancelled/", views.topup_cancelled, name="wallet-topup-cancelled"),
    path("billing/stripe/webhook", views.stripe_webhook, name="stripe-webhook"),
]
