from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail

from billing.credits import credit
from billing.models import Wallet
from tests.support.orgs import org_id
from tests.support.usage import usage_event
from usage.drain import record_usage_events

pytestmark = pytest.mark.django_db(transaction=True)


def spend(user, amount: str) -> None:
    record_usage_events([usage_event(user, cost_usd=amount)])


def low_balance_mails(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address] and "balance is low" in m.subject]


def test_the_low_balance_mail_goes_out_once_per_crossing(alice):
    credit(org_id(alice), Decimal("10"), kind="adjustment", idempotency_key="fund-low")
    Wallet.objects.filter(organization__personal_for=alice).update(
        low_balance_threshold_usd=Decimal("5")
    )

    spend(alice, "4")  # 6 left: above the threshold
    assert low_balance_mails(alice.email) == []
    spend(alice, "2")  # 4 left: crossed
    assert len(low_balance_mails(alice.email)) == 1
    assert "$4.00" in low_balance_mails(alice.email)[0].body
    spend(alice, "1")  # still below: no second mail
    assert len(low_balance_mails(alice.email)) == 1

    credit(
        org_id(alice), Decimal("3"), kind="adjustment", idempotency_key="top-up-low"
    )  # 6: re-armed
    spend(alice, "2")  # 4 again: a new crossing
    assert len(low_balance_mails(alice.email)) == 2
