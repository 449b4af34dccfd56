from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from accounts.models import OrganizationMember, OrganizationRole
from billing.holds import release_expired_holds
from billing.models import Wallet
from ground.money import format_usd


@shared_task(ignore_result=True)
def release_expired() -> int:
    return release_expired_holds()


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_low_balance_email(organization_id: int) -> None:
    """To the organization's owners: they are the ones who can top up."""
    wallet = Wallet.objects.select_related("organization").get(organization_id=organization_id)
    if not wallet.low_balance_notified:
        return  # topped up again before the mail went out
    owners = list(
        OrganizationMember.objects.filter(
            organization_id=organization_id, role=OrganizationRole.OWNER, user__is_active=True
        )
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    if not owners:
        return
    site = settings.SITE_URL or "Portico"
    whose = (
        "Your Portico balance"
        if wallet.organization.personal_for_id
        else f"The Portico balance of {wallet.organization.name}"
    )
    send_mail(
        "[Portico] Your balance is low",
        f"{whose} is {format_usd(wallet.balance_usd)}, below the "
        f"{format_usd(wallet.low_balance_threshold_usd)} threshold set for it.\n\n"
        f"Top up at {site.rstrip('/')}/wallet/ to keep your API keys working.",
        None,
        owners,
    )
