# ruff: noqa: F811 - the OCR tests' fixtures are imported to be used here
"""The portal's pages that use a model or spend money are admitted like ``/v1``: an
account held to ``portico/test-chat`` is refused on the OCR page (upload, retry), the
Retrieval page (new collection, upload, search) and in retrieval's embeddings, with
refusals that name the account (no key is involved), and nothing is held or charged.
The account's requests-per-minute limit counts the portal's requests too."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.credits import credit
from billing.models import Wallet
from catalog.models import Model
from gateway import ratelimit
from ocr.models import OcrJob
from retrieval import collections, dense, ingest
from retrieval.models import Collection, Document
from tests.ocr.conftest import make_job, one_page_pdf  # noqa: F401 - fixture
from tests.support.orgs import org_id
from usage.drain import discard_pending_events, drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
REFUSAL = "Your account may not use the model"


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    ratelimit.reset_limiter()
    discard_pending_events()
    yield
    ratelimit.reset_limiter()


@pytest.fixture
def services(settings):
    settings.MEDIA_ROOT = settings.VAR_DIR / "test-media"
    for public_id, kind, price in (
        ("portico/alretrieval", "retrieval", "0.002"),
        ("portico/ocr", "ocr", "0.01"),
    ):
        Model.objects.create(public_id=public_id, type=kind, unit_price=Decimal(price))


@pytest.fixture
def held(alice, services):
    credit(org_id(alice), Decimal(10), kind="adjustment", idempotency_key=f"fund:{alice.pk}")
    alice.allowed_models = ["portico/test-chat"]
    alice.rpm_limit = 5
    alice.save()
    return alice


@pytest.fixture
def signed_in(client, held):
    client.force_login(held)
    return client


def nothing_spent(user) -> None:
    wallet = Wallet.objects.get(organization__personal_for=user)
    assert (wallet.balance_usd, wallet.held_usd) == (Decimal(10), Decimal(0))
    drain_usage()
    assert not UsageRecord.objects.filter(user=user, cost_usd__gt=0).exists()


def test_the_ocr_page_refuses_an_upload_naming_the_account(signed_in, held):
    pdf = SimpleUploadedFile("scan.pdf", one_page_pdf(), "application/pdf")
    response = signed_in.post(reverse("ocr"), {"file": pdf})
    assert response.status_code == HTTPStatus.FORBIDDEN
    html = response.content.decode()
    assert f"{REFUSAL} &#x27;portico/ocr&#x27;" in html
    assert "API key" not in html
    assert not OcrJob.objects.exists()
    nothing_spent(held)


def test_the_ocr_page_refuses_a_retry(signed_in, held, make_job):
    job = make_job(held, status=OcrJob.Status.ERROR, pdf=one_page_pdf(), retryable=True)
    response = signed_in.post(reverse("ocr-job-retry", args=[job.token]), follow=True)
    assert f"{REFUSAL} &#x27;portico/ocr&#x27;" in response.content.decode()
    job.refresh_from_db()
    assert (job.status, job.retry_count) == (OcrJob.Status.ERROR, 0)
    nothing_spent(held)


def test_the_retrieval_page_refuses_a_new_collection(signed_in, held):
    response = signed_in.post(reverse("retrieval-create"), {"name": "x"}, follow=True)
    assert f"{REFUSAL} &#x27;portico/alretrieval&#x27;" in response.content.decode()
    assert not Collection.objects.exists()


def test_the_retrieval_page_refuses_uploads_and_searches(signed_in, held):
    collection = collections.create_collection(held, "made before the restriction")
    ingest.ingest_pages(held, collection.collection_id, "t", None, ["The harbour budget grew."])
    page = reverse("retrieval-collection", args=[collection.collection_id])
    files = [
        SimpleUploadedFile("notes.txt", b"Ships in the harbour.", "text/plain"),
        SimpleUploadedFile("scan.pdf", one_page_pdf(), "application/pdf"),
    ]
    response = signed_in.post(page, {"files": files})
    assert response.status_code == HTTPStatus.FORBIDDEN
    uploads = response.context["uploads"]
    assert [u["code"] for u in uploads] == ["model_not_allowed", "model_not_allowed"]
    assert all(u["error"].startswith(REFUSAL) for u in uploads)
    assert Document.objects.count() == 1

    search = reverse("retrieval-search", args=[collection.collection_id])
    found = signed_in.post(search, {"q": "harbour"}, headers={"HX-Request": "true"})
    html = found.content.decode()
    assert f"{REFUSAL} &#x27;portico/alretrieval&#x27;" in html
    assert "harbour budget" not in html
    nothing_spent(held)


def test_a_pdf_uploaded_to_a_collection_needs_the_ocr_model(client, alice, services):
    credit(org_id(alice), Decimal(10), kind="adjustment", idempotency_key=f"fund:{alice.pk}")
    alice.allowed_models = ["portico/alretrieval"]
    alice.save()
    client.force_login(alice)
    collection = collections.create_collection(alice, "c")
    page = reverse("retrieval-collection", args=[collection.collection_id])
    pdf = SimpleUploadedFile("scan.pdf", one_page_pdf(), "application/pdf")
    response = client.post(page, {"files": [pdf]})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.context["uploads"][0]["error"].startswith(f"{REFUSAL} 'portico/ocr'")
    assert not Document.objects.exists()
    nothing_spent(alice)


def test_the_accounts_limit_counts_the_portals_searches(client, alice, services):
    credit(org_id(alice), Decimal(10), kind="adjustment", idempotency_key=f"fund:{alice.pk}")
    alice.rpm_limit = 2
    alice.save()
    client.force_login(alice)
    collection = collections.create_collection(alice, "c")
    ingest.ingest_pages(alice, collection.collection_id, "t", None, ["The harbour budget grew."])
    search = reverse("retrieval-search", args=[collection.collection_id])
    answers = [
        client.post(search, {"q": "harbour"}, headers={"HX-Request": "true"}) for _ in range(3)
    ]
    assert "harbour" in answers[1].content.decode()
    assert "2 requests per minute for your account" in answers[2].content.decode()


class CountingEmbedder:
    """A registered embedder that counts the texts it was asked to embed."""

    model = "acme/embed-1"

    def __init__(self) -> None:
        self.texts = 0

    def embed(self, texts, payer, input_type="passage"):
        self.texts += len(texts)
        return [[1.0, float(len(t) % 3)] for t in texts]

    async def aembed(self, texts, payer, input_type="query"):
        return self.embed(texts, payer)


@pytest.fixture
def embedder(settings):
    settings.RETRIEVAL_EMBEDDING_MODEL = CountingEmbedder.model
    counting = CountingEmbedder()
    dense.register_embedder(counting)
    yield counting
    dense.register_embedder(None)


def test_retrieval_embeds_nothing_for_an_account_that_may_not_use_the_embedding_model(
    client, alice, services, embedder
):
    credit(org_id(alice), Decimal(10), kind="adjustment", idempotency_key=f"fund:{alice.pk}")
    alice.allowed_models = ["portico/alretrieval"]
    alice.save()
    client.force_login(alice)
    collection = collections.create_collection(alice, "c")
    document = ingest.ingest_pages(alice, collection.collection_id, "t", None, ["Harbour news."])
    document.refresh_from_db()
    # Indexed lexically only: the vectors were refused, and the document says so.
    assert document.dense_status == "failed"
    assert "may not use" in document.dense_error
    assert not document.chunks.filter(embedding__isnull=False).exists()
    search = reverse("retrieval-search", args=[collection.collection_id])
    found = client.post(search, {"q": "harbour"}, headers={"HX-Request": "true"})
    assert "Harbour news" in found.content.decode()
    assert embedder.texts == 0

    alice.allowed_models = ["portico/alretrieval", CountingEmbedder.model]
    alice.save()
    ingest.ingest_pages(alice, collection.collection_id, "u", None, ["More harbour news."])
    assert embedder.texts == 1  # allowed now: the passage is embedded
