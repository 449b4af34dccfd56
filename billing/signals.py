"""Billing listens: a wallet for every new user's personal organization, sign-up credit once the account's
address is verified, settlement for every recorded request; and each new SQLite
connection gets the money rule for bare decimals (``ground.money``)."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed, user_signed_up
from django.conf import settings
from django.db.backends.signals import connection_created
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.organizations import personal_organization
from billing.credits import grant_signup_credit
from billing.models import Wallet
from billing.settlement import settle_usage_events
from ground.money import refuse_decimal_params_on
from usage.signals import usage_recorded


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_wallet(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """The new user's personal organization gets its wallet."""
    if created and not raw:
        Wallet.objects.get_or_create(organization=personal_organization(instance))


@receiver(email_confirmed)
def credit_verified_signup(sender, request, email_address, **kwargs) -> None:
    grant_signup_credit(email_address.user_id)


@receiver(user_signed_up)
def credit_unverified_signup(sender, request, user, **kwargs) -> None:
    """Without verification (or with an address a social provider verified) there is no
    ``email_confirmed`` to wait for: the credit comes with the sign-up."""
    if (
        settings.ACCOUNT_EMAIL_VERIFICATION == "none"
        or EmailAddress.objects.filter(user=user, verified=True).exists()
    ):
        grant_signup_credit(user.pk)


@receiver(usage_recorded)
def settle_recorded_usage(sender, events, **kwargs) -> None:
    """Charge each newly recorded request once, in the drain's transaction."""
    settle_usage_events(events)


# Django registers its own adapter for Decimal when its SQLite backend loads; this one
# replaces it once a connection exists.
connection_created.connect(refuse_decimal_params_on, dispatch_uid="money-sqlite-decimals")
