"""Pages read are charged, whatever happens to the job afterwards: deleted or expired
before its run finished, a later page failing, the worker killed in between. Real
server, real worker.

Before, ``DELETE /v1/ocr/jobs/{token}`` (and expiry) released the hold of a run in
progress with no charge and no usage record, while the job's status had already
returned the text of the pages read.
"""

from __future__ import annotations

import os
import signal
import uuid
from datetime import timedelta
from functools import cache
from http import HTTPStatus

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from billing.models import Hold, LedgerEntry
from ocr import tasks
from ocr.models import OcrJob, OcrPage
from tests.billing.conftest import assert_ledger_invariants, wallet_of
from tests.ocr import pdfgen
from tests.ocr.conftest import ENGLISH, FUNDS, PAGE_PRICE, OcrApi, key_for, small_page
from tests.support.processes import CeleryWorker, PorticoServer, child_env, wait_for
from usage.drain import discard_pending_events, drain_usage
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@cache
def pages_pdf(count: int) -> bytes:
    return pdfgen.image_pdf([small_page(f"Page {n}. {ENGLISH}") for n in range(count)], dpi=200)


def upload(api: OcrApi, pages: int) -> str:
    discard_pending_events()
    response = api.upload(pages_pdf(pages), f"{pages}-pages.pdf")
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()["token"]


def read_at_least(api: OcrApi, token: str, pages: int) -> dict:
    """Poll the job until it holds the text of ``pages`` pages (not all of them yet)."""
    with api.client() as http:

        def some_read() -> dict | None:
            body = http.get(f"/ocr/jobs/{token}").json()
            return body if body["pages_done"] >= pages else None

        body = wait_for(some_read, timeout=180, interval=0.2, what=f"{pages} pages read")
    assert body["pages_done"] < body["total_pages"], "the run finished before the test acted"
    assert len(body["pages"]) == body["pages_done"] and all(p["text"] for p in body["pages"])
    return body


def assert_charged(user, token: str, *, pages_seen: int, status: str, code: str) -> UsageRecord:
    """One usage record and one ledger charge for the pages read, the hold closed."""
    request_id = f"ocr_{token}_0"
    record = UsageRecord.objects.get(request_id=request_id)
    assert (record.status, record.error_code, record.source) == (status, code, "ocr")
    assert pages_seen <= record.units
    assert record.cost_usd == PAGE_PRICE * record.units
    [charge] = LedgerEntry.objects.filter(request_id=request_id)
    assert charge.amount_usd == -record.cost_usd
    assert Hold.objects.get(request_id=request_id).status == Hold.Status.SETTLED
    wallet = wallet_of(user)
    assert (wallet.balance_usd, wallet.held_usd) == (FUNDS - record.cost_usd, 0)
    assert_ledger_invariants(user)
    return record


def test_deleting_a_job_mid_run_charges_the_pages_it_read(alice, alice_api, celery_worker):
    token = upload(alice_api, 12)
    seen = read_at_least(alice_api, token, 3)["pages_done"]

    with alice_api.client() as http:
        response = http.delete(f"/ocr/jobs/{token}")
    assert response.status_code == HTTPStatus.OK, response.text

    # Charged in the transaction that deleted the job: no drain needed.
    assert not OcrJob.objects.filter(token=token).exists()
    record = assert_charged(alice, token, pages_seen=seen, status="cancelled", code="job_deleted")
    assert record.units < 12
    drain_usage()  # nothing else turns up for the run
    assert UsageRecord.objects.filter(request_id__startswith=f"ocr_{token}").count() == 1


def test_a_job_expiring_mid_run_has_the_pages_it_read_charged(alice, alice_api, celery_worker):
    token = upload(alice_api, 12)
    seen = read_at_least(alice_api, token, 3)["pages_done"]

    OcrJob.objects.filter(token=token).update(expires_at=timezone.now() - timedelta(seconds=1))
    tasks.expire_jobs.delay()  # what beat queues every ten minutes, run by the worker
    wait_for(
        lambda: OcrJob.objects.get(token=token).purged_at is not None,
        timeout=120,
        what="the job to be purged",
    )

    assert_charged(alice, token, pages_seen=seen, status="cancelled", code="job_expired")
    assert not OcrPage.objects.filter(job__token=token).exists()
    with alice_api.client() as http:
        assert http.get(f"/ocr/jobs/{token}").status_code == HTTPStatus.GONE


def test_a_later_page_failing_leaves_the_pages_read_charged(alice, alice_api, celery_worker):
    token = upload(alice_api, 6)
    seen = read_at_least(alice_api, token, 2)["pages_done"]
    # The stored original disappears: every page not read yet fails.
    default_storage.delete(OcrJob.objects.get(token=token).original_name)

    body = alice_api.wait_finished(token, timeout=180)
    assert body["status"] == "error" and not body["retryable"]
    assert seen <= body["pages_done"] < 6

    def settled() -> bool:
        drain_usage()
        return UsageRecord.objects.filter(request_id=f"ocr_{token}_0").exists()

    wait_for(settled, timeout=30, what="the run's usage")
    record = assert_charged(alice, token, pages_seen=seen, status="error", code="engine_error")
    assert record.units == body["pages_done"]


# --- A worker killed with pages read ---------------------------------------------------------
def test_pages_a_killed_worker_read_are_charged_when_the_job_is_deleted(alice, ocr_model):
    from tests.ocr.conftest import fund

    fund(alice)
    # Its own queue: killing this worker leaves the other tests' worker alone.
    queue = f"ocr-kill-{uuid.uuid4().hex[:8]}"
    env = child_env(CELERY_TASK_ALWAYS_EAGER="0", OCR_QUEUE=queue)
    server, worker = PorticoServer(env), CeleryWorker(env, queues=queue)
    try:
        server.wait_ready()
        worker.wait_ready()
        api = OcrApi(server.url, key_for(alice))
        token = upload(api, 12)
        read_at_least(api, token, 2)
        os.killpg(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait()
        read = OcrPage.objects.filter(job__token=token, status=OcrPage.Status.DONE).count()

        with api.client() as http:
            assert http.delete(f"/ocr/jobs/{token}").status_code == HTTPStatus.OK
    finally:
        worker.stop()
        server.stop()

    record = assert_charged(alice, token, pages_seen=read, status="cancelled", code="job_deleted")
    assert record.units == read
