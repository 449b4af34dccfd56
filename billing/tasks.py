from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from billing.holds import release_expired_holds
from billing.models import Wallet
from ground.money import format_usd


@shared_task(ignore_result=True)
def release_expired() -> int:
    return release_expired_holds()


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_low_balance_email(user_id: int) -> None:
    wallet = Wallet.objects.select_related("user").get(user_id=user_id)
    if not wallet.low_balance_notified:
        return  # topped up again before the mail went out
    site = settings.SITE_URL or "Portico"
    send_mail(
        "[Portico] Your balance is low",
        f"Your Portico balance is {format_usd(wallet.balance_usd)}, below the "
        f"{format_usd(wallet.low_balance_threshold_usd)} threshold you set.\n\n"
        f"Top up at {site.rstrip('/')}/wallet/ to keep your API keys working.",
        None,
        [wallet.user.email],
    )
