"""OCR on S3-compatible object storage: a real S3 server (moto's) on loopback.

The flows run in-process (tasks inline) with ``STORAGES`` pointing at the bucket; the
endpoints then hand out the bucket's presigned, expiring URLs instead of data URIs.
"""

from __future__ import annotations

import io
import time
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from PIL import Image

from ocr import lifecycle, pages, payloads, storage, uploads
from ocr.models import OcrJob
from tests.ocr.conftest import fund, key_for, mixed_pdf
from tests.support.admission import admitted_call

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = "portico-ocr-test"
CREDENTIALS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}
URL_EXPIRY = 120


@pytest.fixture(scope="module")
def s3_url():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    bucket_client(url).create_bucket(Bucket=BUCKET)
    try:
        yield url
    finally:
        server.stop()


def bucket_client(url: str):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", **CREDENTIALS)


@pytest.fixture
def s3_storage(settings, s3_url):
    """Portico's own S3 settings (see portal/settings/files.py), aimed at the moto server."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_url,
                "access_key": CREDENTIALS["aws_access_key_id"],
                "secret_key": CREDENTIALS["aws_secret_access_key"],
                "region_name": "us-east-1",
                "querystring_auth": True,
                "querystring_expire": URL_EXPIRY,
                "file_overwrite": False,
            },
        },
    }
    settings.OCR_DPI = 100
    assert storage.uses_object_storage()
    yield bucket_client(s3_url)


def keys_under(client, prefix: str) -> set[str]:
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"] for item in listing.get("Contents", [])}


def assert_presigned(url: str) -> None:
    """Signed, and valid for the configured lifetime (moto does not enforce expiry)."""
    query = parse_qs(urlsplit(url).query)
    if "X-Amz-Expires" in query:  # SigV4
        assert query["X-Amz-Expires"] == [str(URL_EXPIRY)]
        assert query["X-Amz-Signature"][0]
    else:  # SigV2 query auth: an absolute expiry time
        assert query["Signature"][0]
        lifetime = int(query["Expires"][0]) - time.time()
        assert URL_EXPIRY - 30 < lifetime <= URL_EXPIRY


def test_pages_are_stored_in_the_bucket_and_served_by_presigned_urls(alice, ocr_model, s3_storage):
    fund(alice)
    job = uploads.start_ocr_job(
        admitted_call(alice, settings.OCR_PAGE_MODEL), uploads.Upload("mixed.pdf", mixed_pdf())
    )
    job.refresh_from_db()
    assert job.status == OcrJob.Status.DONE, job.error
    prefix = f"ocr/{job.token}/"
    assert keys_under(s3_storage, prefix) == {
        f"{prefix}original.pdf",
        *(f"{prefix}pages/{n}/{kind}.png" for n in (1, 2, 3) for kind in ("page", "thumbnail")),
    }

    # Through the API (in-process): presigned URLs instead of data URIs.
    secret = key_for(alice)
    web = Client(headers={"Authorization": f"Bearer {secret}"})
    response = web.get(f"/v1/ocr/thumbnails/{job.token}", {"limit": 2})
    assert response.status_code == HTTPStatus.OK, response.content
    body = response.json()
    assert [item["page_num"] for item in body["thumbnails"]] == [1, 2]
    assert body["has_more"] is True
    for item in body["thumbnails"]:
        assert "data" not in item
        assert_presigned(item["url"])
        fetched = httpx.get(item["url"])
        assert fetched.status_code == HTTPStatus.OK
        assert Image.open(io.BytesIO(fetched.content)).width == 200
    images = web.get(f"/v1/ocr/images/{job.token}").json()["images"]
    assert len(images) == 3
    first = Image.open(io.BytesIO(httpx.get(images[0]["url"]).content))
    page = web.get(f"/v1/ocr/jobs/{job.token}/1").json()
    assert first.size == (page["width"], page["height"])
    assert_presigned(page["image"]["url"])
    assert_presigned(page["thumbnail"]["url"])
    assert httpx.get(page["thumbnail"]["url"]).status_code == HTTPStatus.OK

    # Expiry empties the job's folder in the bucket.
    OcrJob.objects.filter(pk=job.pk).update(expires_at=timezone.now())
    assert lifecycle.expire_ocr_jobs() == 1
    assert keys_under(s3_storage, prefix) == set()
    assert web.get(f"/v1/ocr/images/{job.token}").status_code == HTTPStatus.GONE


def test_a_retry_reads_the_original_back_from_the_bucket(alice, ocr_model, s3_storage, make_job):
    fund(alice)
    job = make_job(
        alice,
        status=OcrJob.Status.ERROR,
        pages=3,
        pdf=mixed_pdf(),
        error_code=pages.TRANSIENT,
        retryable=True,
    )
    assert payloads.media_page(job.token, alice.pk, "images", 0, 10)["images"] == []
    lifecycle.retry_ocr_job(job.token, alice.pk)
    job.refresh_from_db()
    assert (job.status, job.retry_count, job.pages_done) == ("done", 1, 3)
    assert len(keys_under(s3_storage, f"ocr/{job.token}/pages/")) == 6
