"""``?digits=latin`` on the job and page endpoints (and the portal's downloads), through the
real server and worker, on a page printed with Arabic-Indic digits."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from ocr.engine import latin_digits
from tests.ocr import pdfgen
from tests.ocr.conftest import OcrApi

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LINE = "فاتورة رقم ٤٧١١ بمبلغ ٣٥٠٫٧٥ ريال"


def _upload(api: OcrApi) -> str:
    image = pdfgen.text_image([LINE, pdfgen.ARABIC_TEXT], dpi=300)
    response = api.upload(pdfgen.image_pdf(image))
    assert response.status_code == HTTPStatus.OK, response.text
    token = response.json()["token"]
    assert api.wait_finished(token)["status"] == "done"
    return token


def test_numbers_come_as_printed_or_in_latin_digits(alice_api: OcrApi, celery_worker):
    token = _upload(alice_api)
    printed = alice_api.get(f"/ocr/jobs/{token}").json()["pages"][0]["text"]
    assert "٤٧١١" in printed, printed

    latin = alice_api.get(f"/ocr/jobs/{token}", digits="latin").json()["pages"][0]["text"]
    assert latin == latin_digits(printed) and "4711" in latin
    assert not any("\u0660" <= ch <= "\u0669" for ch in latin)

    page = alice_api.get(f"/ocr/jobs/{token}/1", digits="latin", detail="words").json()
    assert page["text"] == latin
    assert "4711" in [w["text"] for w in page["words"]]
    assert any("4711" in s["text"] for s in page["segments"])
    assert any("4711" in line["text"] for line in page["lines"])
    default = alice_api.get(f"/ocr/jobs/{token}/1", digits="printed").json()
    assert default["text"] == printed


@pytest.mark.parametrize("path", ["/ocr/jobs/{token}", "/ocr/jobs/{token}/1"])
@pytest.mark.parametrize("value", ["roman", "LATIN", "0", "latin\x00"])
def test_an_unknown_digits_option_is_a_400(alice_api: OcrApi, make_job, alice, path, value):
    job = make_job(alice)
    response = alice_api.get(path.format(token=job.token), digits=value)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    error = response.json()["error"]
    assert error["type"] and error["message"]
    if "\x00" not in value:  # a NUL is refused before the endpoint sees the query
        assert error["param"] == "digits" and error["code"] == "invalid_parameter"
