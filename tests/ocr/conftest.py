"""OCR test setup: a priced ``portico/ocr`` model, funded keys, test PDFs, and a Portico
server that queues to the real worker (the shared ``portico_server`` runs tasks inline).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cache

import httpx
import pytest
from django.utils import timezone
from PIL import Image

from tests.ocr import pdfgen
from tests.support.orgs import org_id
from tests.support.processes import PorticoServer, child_env, wait_for

PAGE_PRICE = Decimal("0.01")
FUNDS = Decimal("5")
# The dedicated server's upload cap: small enough to test 413 with a small file.
SERVER_MAX_UPLOAD_MB = 1

ENGLISH = "The city library opened a new reading room last spring."
ARABIC = "يقدم المعرض الدولي للكتاب هذا العام برنامجا ثقافيا غنيا."
MIXED_EN = "The book fair offers seminars and poetry evenings."
MIXED_AR = "تعد القراءة من أهم الوسائل التي يكتسب بها الإنسان المعرفة."
PAGE_TEXTS = [ENGLISH, ARABIC, f"{MIXED_EN} {MIXED_AR}"]


def small_page(paragraphs: list[str] | str, dpi: int = 200) -> Image.Image:
    """A 6 × 3 inch page of 14 pt text: legible, and quick to OCR."""
    return pdfgen.text_image(paragraphs, dpi=dpi, page_in=(6.0, 3.0), margin_in=0.5)


@cache
def mixed_pdf() -> bytes:
    """Three small pages: English, Arabic, then both."""
    pages = [small_page(ENGLISH), small_page(ARABIC), small_page([MIXED_EN, MIXED_AR])]
    return pdfgen.image_pdf(pages, dpi=200)


@cache
def one_page_pdf() -> bytes:
    return pdfgen.image_pdf(small_page(ENGLISH, dpi=150), dpi=150)


def png_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image.size


@pytest.fixture
def ocr_model(transactional_db):
    from catalog.models import Model

    return Model.objects.create(
        public_id="portico/ocr", type="ocr", name="Portico OCR", unit_price=PAGE_PRICE
    )


def fund(user, amount: Decimal = FUNDS) -> None:
    from billing.credits import credit

    credit(org_id(user), amount, kind="adjustment", idempotency_key=f"ocr-test-fund:{user.pk}")


def key_for(user, **options) -> str:
    from accounts.keys import issue_key

    options.setdefault("scopes", ["ocr"])
    return issue_key(user, options.pop("name", "ocr test"), **options).secret


@pytest.fixture
def alice_key(alice, ocr_model) -> str:
    fund(alice)
    return key_for(alice)


@pytest.fixture
def bob_key(bob, ocr_model) -> str:
    fund(bob)
    return key_for(bob)


@pytest.fixture(scope="session")
def ocr_server(django_db_setup):
    """Portico queuing OCR pages to the broker (the worker fixture reads them)."""
    env = child_env(
        CELERY_TASK_ALWAYS_EAGER="0",
        OCR_MAX_UPLOAD_MB=str(SERVER_MAX_UPLOAD_MB),
        DEFAULT_KEY_RPM="100000",
    )
    server = PorticoServer(env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@dataclass
class OcrApi:
    """httpx against ``/v1`` with one key."""

    base: str
    key: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base + "/v1",
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=30,
        )

    def upload(self, data: bytes, filename: str = "doc.pdf") -> httpx.Response:
        with self.client() as http:
            return http.post("/ocr/upload", files={"file": (filename, data, "application/pdf")})

    def get(self, path: str, **params) -> httpx.Response:
        with self.client() as http:
            return http.get(path, params=params)

    def post(self, path: str) -> httpx.Response:
        with self.client() as http:
            return http.post(path)

    def wait_finished(self, token: str, timeout: float = 90) -> dict:
        with self.client() as http:

            def finished() -> dict | None:
                body = http.get(f"/ocr/jobs/{token}").json()
                return body if body["status"] in ("done", "error") else None

            return wait_for(finished, timeout=timeout, interval=0.2, what=f"OCR job {token}")


@pytest.fixture
def alice_api(ocr_server, alice_key) -> OcrApi:
    return OcrApi(ocr_server.url, alice_key)


@pytest.fixture
def make_job():
    """An OCR job row (and optionally its stored original), without running anything."""
    from ocr import storage
    from ocr.models import OcrJob, OcrPage

    def make(
        owner,
        *,
        status: str = OcrJob.Status.DONE,
        pages: int = 2,
        pdf: bytes | None = None,
        page_status: str | None = None,
        error_code: str = "",
        **fields,
    ) -> OcrJob:
        import secrets

        token = secrets.token_urlsafe(24)
        name = storage.save_bytes(storage.original_name(token), pdf) if pdf else ""
        fields.setdefault("expires_at", timezone.now() + timedelta(hours=1))
        job = OcrJob.objects.create(
            token=token,
            owner=owner,
            filename="made.pdf",
            original_name=name,
            status=status,
            total_pages=pages,
            pages_done=pages if status == OcrJob.Status.DONE else 0,
            pages_failed=pages if status == OcrJob.Status.ERROR else 0,
            unit_price_usd=PAGE_PRICE,
            error_code=error_code,
            **fields,
        )
        default_page = {
            OcrJob.Status.DONE: OcrPage.Status.DONE,
            OcrJob.Status.ERROR: OcrPage.Status.ERROR,
        }.get(status, OcrPage.Status.PENDING)
        OcrPage.objects.bulk_create(
            OcrPage(
                job=job,
                page_num=n,
                status=page_status or default_page,
                text=f"page {n}",
                error_code=error_code,
            )
            for n in range(1, pages + 1)
        )
        return job

    return make
