"""A wallet funded for exactly three one-page OCR uploads takes exactly three, through
the real server, on SQLite and PostgreSQL alike.

On SQLite money was a REAL: the third upload was refused with "may cost up to $0.0015
but your available balance is $0.0015".
"""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import pytest

from billing.credits import credit
from catalog.models import Model
from tests.billing.conftest import assert_ledger_invariants, wallet_of
from tests.ocr.conftest import OcrApi, key_for, one_page_pdf
from tests.support.orgs import org_id
from tests.support.processes import wait_for
from usage.drain import discard_pending_events, drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
PRICE = Decimal("0.0015")


@pytest.fixture
def priced_ocr(transactional_db):
    return Model.objects.create(public_id="portico/ocr", type="ocr", unit_price=PRICE)


def test_a_wallet_for_exactly_three_one_page_uploads_takes_three(
    bob, priced_ocr, ocr_server, celery_worker
):
    discard_pending_events()
    credit(org_id(bob), PRICE * 3, kind="adjustment", idempotency_key="three-pages")
    api = OcrApi(ocr_server.url, key_for(bob))

    tokens = []
    for _ in range(3):
        response = api.upload(one_page_pdf())
        assert response.status_code == HTTPStatus.OK, response.text
        tokens.append(response.json()["token"])
    refused = api.upload(one_page_pdf())
    assert refused.status_code == HTTPStatus.PAYMENT_REQUIRED, refused.text
    assert refused.json()["error"]["code"] == "insufficient_balance"
    assert wallet_of(bob).held_usd == PRICE * 3

    for token in tokens:
        assert api.wait_finished(token)["status"] == "done"

    def charged() -> bool:
        drain_usage()
        return UsageRecord.objects.filter(user=bob, cost_usd=PRICE).count() == 3

    wait_for(charged, timeout=30, what="three page charges")
    wallet = wallet_of(bob)
    assert (wallet.balance_usd, wallet.held_usd) == (0, 0)
    assert_ledger_invariants(bob)
