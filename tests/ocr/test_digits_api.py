"""``?digits=latin`` on the job and page endpoints (and the portal's downloads), through the
real server and worker, on a page printed with Arabic-Indic digits."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from tests.ocr import pdfgen
from tests.ocr.conftest import OcrApi

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LINE = "فاتورة رقم ٤٧١١ بمبلغ ٣٥٠٫٧٥ ريال"


def _upload(api: OcrApi) -> str:
    image = pdfgen.text_image(LINE, dpi=300, page_in=(6.0, 2.0), margin_in=0.5)
    response = api.upload(pdfgen.image_pdf(image))
    assert response.status_code == HTTPStatus.OK, response.text
    token = response.json()["token"]
    assert api.wait_finished(token)["status"] == "done"
    return token


def test_numbers_come_as_printed_or_in_latin_digits(alice_api: OcrApi, celery_worker):
    token = _upload(alice_api)
    printed = alice_api.get(f"/ocr/jobs/{token}").json()["pages"][0]["text"]
    assert "٤٧١١" in printed and "٣٥٠٫٧٥" in printed, printed

    latin = alice_api.get(f"/ocr/jobs/{token}", digits="latin").json()["pages"][0]["text"]
    assert latin == printed.replace("٤٧١١", "4711").replace("٣٥٠٫٧٥", "350.75")

    page = alice_api.get(f"/ocr/jobs/{token}/1", digits="latin", detail="words").json()
    assert "4711" in page["text"] and "350.75" in page["text"]
    assert "4711" in [w["text"] for w in page["words"]]
    assert any("4711" in s["text"] for s in page["segments"])
    assert any("350.75" in line["text"] for line in page["lines"])
    default = alice_api.get(f"/ocr/jobs/{token}/1", digits="printed").json()
    assert default["text"] == printed


@pytest.mark.parametrize("path", ["/ocr/jobs/{token}", "/ocr/jobs/{token}/1"])
@pytest.mark.parametrize("value", ["roman", "LATIN", "0", "latin\x00"])
def test_an_unknown_digits_option_is_a_400(alice_api: OcrApi, make_job, alice, path, value):
    job = make_job(alice)
    response = alice_api.get(path.format(token=job.token), digits=value)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    error = response.json()["error"]
    assert error["param"] == "digits" and error["code"] == "invalid_parameter"
    assert error["type"] and error["message"]
