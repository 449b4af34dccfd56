"""Issue 12's API additions through the real server and worker: word boxes, a
searchable PDF, the language choice, and deleting a job."""

from __future__ import annotations

import io
from http import HTTPStatus

import pypdfium2 as pdfium
import pytest

from ocr import storage
from ocr.engine import cer
from ocr.models import OcrJob
from tests.ocr.conftest import ENGLISH, OcrApi, one_page_pdf

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def upload(api: OcrApi, data: bytes, **fields) -> str:
    with api.client() as http:
        response = http.post(
            "/ocr/upload", files={"file": ("doc.pdf", data, "application/pdf")}, data=fields
        )
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()["token"]


def test_words_searchable_pdf_and_delete(
    alice, alice_api: OcrApi, bob_key, ocr_server, celery_worker
):
    token = upload(alice_api, one_page_pdf(), language="eng")
    assert alice_api.wait_finished(token)["status"] == "done"
    assert OcrJob.objects.get(token=token).language == "eng"

    detail = alice_api.get(f"/ocr/jobs/{token}/1", detail="words").json()
    assert detail["width"] > 0 and detail["height"] > 0
    words = detail["words"]
    assert " ".join(w["text"] for w in words).startswith("The city library")
    first = words[0]
    assert set(first["bbox"]) == {"x0", "y0", "x1", "y1"}
    assert 0 <= first["bbox_fraction"]["x0"] < first["bbox_fraction"]["x1"] <= 1
    assert first["script"] == "latin" and first["direction"] == "ltr" and first["confidence"] > 50
    assert detail["lines"] and "words" not in alice_api.get(f"/ocr/jobs/{token}/1").json()
    assert alice_api.get(f"/ocr/jobs/{token}/1", detail="everything").status_code == 400

    with alice_api.client() as http:
        pdf = http.get(f"/ocr/jobs/{token}/pdf")
    assert pdf.status_code == HTTPStatus.OK and pdf.headers["content-type"] == "application/pdf"
    text = pdfium.PdfDocument(io.BytesIO(pdf.content))[0].get_textpage().get_text_range()
    assert cer(ENGLISH, " ".join(text.split())) < 0.05, text

    bob = OcrApi(ocr_server.url, bob_key)
    with bob.client() as http:
        assert http.delete(f"/ocr/jobs/{token}").status_code == HTTPStatus.NOT_FOUND
        assert http.get(f"/ocr/jobs/{token}/pdf").status_code == HTTPStatus.NOT_FOUND
    folder = storage.job_folder(token)
    assert storage.default_storage.listdir(folder)[1] or storage.default_storage.listdir(folder)[0]
    with alice_api.client() as http:
        assert http.delete(f"/ocr/jobs/{token}").status_code == HTTPStatus.OK
        assert http.get(f"/ocr/jobs/{token}").status_code == HTTPStatus.NOT_FOUND
    assert not OcrJob.objects.filter(token=token).exists()
    with pytest.raises(FileNotFoundError):
        storage.default_storage.listdir(folder)


def test_an_unknown_language_is_a_400(alice_api: OcrApi):
    with alice_api.client() as http:
        response = http.post(
            "/ocr/upload",
            files={"file": ("doc.pdf", one_page_pdf(), "application/pdf")},
            data={"language": "klingon"},
        )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"]["param"] == "language"
