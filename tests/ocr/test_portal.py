"""The OCR portal pages through Django's test client (tasks inline)."""

from __future__ import annotations

from http import HTTPStatus

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ocr import storage
from ocr.models import OcrJob
from tests.ocr.conftest import fund, one_page_pdf

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.OCR_DPI = 100


@pytest.fixture
def web(client, alice):
    client.force_login(alice)
    return client


def pdf_file(name: str = "letter.pdf", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data or one_page_pdf(), content_type="application/pdf")


def test_an_upload_in_the_portal_reads_the_pdf_and_lists_it(web, alice, ocr_model):
    fund(alice)
    response = web.post(reverse("ocr"), {"file": pdf_file()})
    job = OcrJob.objects.get(owner=alice)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("ocr-job", args=[job.token])
    assert (job.status, job.source) == ("done", "portal")

    page = web.get(reverse("ocr"))
    assert b"letter.pdf" in page.content and b"badge ok" in page.content
    detail = web.get(reverse("ocr-job", args=[job.token]))
    assert b"All 1 page read." in detail.content
    assert b"hx-trigger" not in detail.content  # finished: no polling
    thumb = web.get(reverse("ocr-page-file", args=[job.token, 1, "thumbnail"]))
    assert thumb["Content-Type"] == "image/png"
    assert b"".join(thumb.streaming_content).startswith(b"\x89PNG")
    page_view = web.get(reverse("ocr-page", args=[job.token, 1]))
    assert b'dir="auto"' in page_view.content and b'class="ocr-box"' in page_view.content


def test_a_running_job_polls_its_progress_partial(web, alice, make_job):
    job = make_job(alice, status=OcrJob.Status.PROCESSING, pages=2)
    full = web.get(reverse("ocr-job", args=[job.token]))
    assert b'hx-trigger="every 1s"' in full.content
    partial = web.get(reverse("ocr-job", args=[job.token]), headers={"HX-Request": "true"})
    assert partial.content.lstrip().startswith(b'<section id="ocr-progress"')
    assert b"<html" not in partial.content


def test_the_portal_explains_refused_uploads(web, alice, ocr_model):
    refused = web.post(reverse("ocr"), {"file": pdf_file("bad.pdf", b"PK\x03\x04 not a pdf")})
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert b"This file is not a PDF" in refused.content
    broke = web.post(reverse("ocr"), {"file": pdf_file()})  # alice has no funds
    assert broke.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert b"Top up your wallet" in broke.content
    assert not OcrJob.objects.exists()


def test_downloads_give_the_text_and_the_json(web, alice, make_job):
    job = make_job(alice, pages=2)
    text = web.get(reverse("ocr-download", args=[job.token, "txt"]))
    assert text["Content-Disposition"] == 'attachment; filename="made.txt"'
    assert text.content.decode() == "--- Page 1 ---\npage 1\n\n--- Page 2 ---\npage 2\n"
    one = web.get(reverse("ocr-download", args=[job.token, "json"]) + "?page=2")
    body = orjson.loads(one.content)
    assert [p["page_num"] for p in body["pages"]] == [2]
    assert body["pages"][0]["segments"] == []
    assert web.get(reverse("ocr-download", args=[job.token, "xml"])).status_code == 404


def test_downloads_give_numbers_in_latin_digits_on_request(web, alice, make_job):
    job = make_job(alice, pages=1)
    job.pages.update(
        text="فاتورة ٤٧١١ بمبلغ ١٬٢٥٠٫٧٥",
        segments=[{"kind": "line", "text": "فاتورة ٤٧١١", "bbox": [0, 0, 9, 9]}],
    )
    url = reverse("ocr-download", args=[job.token, "txt"])
    assert "٤٧١١ بمبلغ ١٬٢٥٠٫٧٥" in web.get(url).content.decode()
    assert "4711 بمبلغ 1,250.75" in web.get(url + "?digits=latin").content.decode()
    body = orjson.loads(
        web.get(reverse("ocr-download", args=[job.token, "json"]) + "?digits=latin").content
    )
    assert body["pages"][0]["text"].endswith("4711 بمبلغ 1,250.75")
    assert body["pages"][0]["segments"][0]["text"] == "فاتورة 4711"
    assert web.get(url + "?digits=roman").status_code == HTTPStatus.BAD_REQUEST


def test_someone_elses_job_is_404_and_an_expired_one_410(web, bob, alice, make_job):
    from datetime import timedelta

    from django.utils import timezone

    theirs = make_job(bob)
    for name, args in (
        ("ocr-job", [theirs.token]),
        ("ocr-page", [theirs.token, 1]),
        ("ocr-page-file", [theirs.token, 1, "page"]),
        ("ocr-download", [theirs.token, "txt"]),
    ):
        assert web.get(reverse(name, args=args)).status_code == HTTPStatus.NOT_FOUND
    assert web.post(reverse("ocr-job-retry", args=[theirs.token])).status_code == 404
    old = make_job(alice, expires_at=timezone.now() - timedelta(seconds=1))
    gone = web.get(reverse("ocr-job", args=[old.token]))
    assert gone.status_code == HTTPStatus.GONE
    assert b"This document has expired." in gone.content


def test_the_retry_button_reruns_a_failed_job(web, alice, ocr_model, make_job):
    from ocr import pages

    fund(alice)
    job = make_job(
        alice,
        status=OcrJob.Status.ERROR,
        pages=1,
        pdf=one_page_pdf(),
        error_code=pages.TRANSIENT,
        retryable=True,
        error="1 of 1 pages failed.",
    )
    page = web.get(reverse("ocr-job", args=[job.token]))
    assert b"Retry failed pages" in page.content
    response = web.post(reverse("ocr-job-retry", args=[job.token]), follow=True)
    assert b"Retrying the pages that failed." in response.content
    job.refresh_from_db()
    assert (job.status, job.retry_count) == ("done", 1)
    again = web.post(reverse("ocr-job-retry", args=[job.token]), follow=True)
    assert b"already done" in again.content


def test_signed_links_expire_and_refuse_tampering(client, alice, make_job, settings):
    job = make_job(alice, pages=1)
    name = storage.save_bytes(storage.page_file_name(job.token, 1, "page"), b"\x89PNG fake")
    url = storage.file_url(name)
    assert client.get(url).status_code == HTTPStatus.OK
    assert client.get(url[:-2] + "xx").status_code == HTTPStatus.FORBIDDEN
    assert client.get(reverse("ocr-file", args=["nonsense"])).status_code == 403
    settings.OCR_FILE_URL_SECONDS = -1
    assert client.get(url).status_code == HTTPStatus.GONE


def test_the_portal_shows_word_boxes_offers_a_searchable_pdf_and_deletes(
    web, alice, bob, ocr_model
):
    fund(alice)
    web.post(reverse("ocr"), {"file": pdf_file(), "language": "eng"})
    job = OcrJob.objects.get(owner=alice)
    assert job.language == "eng"
    detail = web.get(reverse("ocr-job", args=[job.token])).content
    assert b'data-testid="searchable-pdf"' in detail and b'data-testid="delete-job"' in detail
    page_view = web.get(reverse("ocr-page", args=[job.token, 1])).content
    assert b'data-testid="word-boxes"' in page_view and b'class="ocr-word-box"' in page_view
    pdf = web.get(reverse("ocr-job-pdf", args=[job.token]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")

    web.force_login(bob)
    assert web.post(reverse("ocr-job-delete", args=[job.token])).status_code == HTTPStatus.NOT_FOUND
    web.force_login(alice)
    response = web.post(reverse("ocr-job-delete", args=[job.token]))
    assert response.status_code == HTTPStatus.FOUND and response["Location"] == reverse("ocr")
    assert not OcrJob.objects.filter(pk=job.pk).exists()
    assert not storage.exists(storage.original_name(job.token))
