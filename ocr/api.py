"""The OCR endpoints under /v1 (scope ``ocr``): upload, job status, retry, pages, media.

Each one is admitted by ``gateway.admission.v1`` (key, scope, one rate-limit step,
headers on every answer, errors included), then calls a flow or a payload builder in a
worker thread.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Path, Router

from gateway.admission import Call, v1
from gateway.proxy import json_response
from ground.bodies import form_body, parse_form, parse_query, query_parameters
from ground.errors import ApiError
from ground.net import site_url
from ground.text import strict_int
from ground.uploads import uploaded_file
from ocr import jobs, lifecycle, payloads, uploads
from ocr.models import OcrJob
from ocr.schemas import (
    Images,
    Job,
    JobDeleted,
    JobOptions,
    MediaWindow,
    PageDetail,
    PageOptions,
    RetryAccepted,
    Thumbnails,
    UploadAccepted,
    UploadForm,
)

router = Router(tags=["OCR"])

# ASCII digits only ("٣" or "1_0" is a 400, as ground.text.strict_int reads integers):
# the router checks a path parameter before the view, and the view reads it with int().
PAGE_NUM = Path(..., pattern=r"^[0-9]{1,9}$", description="1-based.")
# Room for the multipart envelope around a file of the maximum size.
ENVELOPE_BYTES = 64 * 1024
PDF_ANSWER = {
    "responses": {
        200: {
            "description": "The PDF with an invisible text layer",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


def read_upload(request: HttpRequest) -> uploads.Upload:
    """The multipart ``file`` field, refused early when plainly too large."""
    content_type = request.content_type or ""
    if not content_type.startswith("multipart/form-data"):
        raise ApiError(
            415,
            f"Unsupported Content-Type {content_type or 'none'!r}; send the PDF as "
            "multipart/form-data in the field 'file'.",
        )
    declared = strict_int(request.headers.get("Content-Length") or "0") or 0
    if declared > uploads.max_upload_bytes() + ENVELOPE_BYTES:
        raise uploads.too_large(declared)
    upload = uploaded_file(request)
    if upload is None:
        raise ApiError(
            422,
            "Missing required field 'file': send the PDF as multipart/form-data.",
            param="file",
            code="missing_required_parameter",
        )
    if upload.size > uploads.max_upload_bytes():
        raise uploads.too_large(upload.size)
    form = parse_form(request, UploadForm)
    return uploads.Upload(
        filename=upload.name or "", data=upload.read(), language=form.language or ""
    )


def upload_for(request: HttpRequest, call: Call) -> dict:
    job = uploads.start_ocr_job(call, read_upload(request), source=OcrJob.Source.API)
    return payloads.upload_payload(job)


def ocr_model() -> str:
    return settings.OCR_PAGE_MODEL


@router.post(
    "/ocr/upload",
    openapi_extra=form_body(UploadForm, files={"file": "The PDF"}),
    response=UploadAccepted,
    summary="Upload a PDF for OCR",
)
@v1("ocr", source="ocr", model=ocr_model)
async def upload(request: HttpRequest, call: Call) -> HttpResponse:
    """Validates the PDF, holds `pages × page price`, queues one task per page."""
    return json_response(await sync_to_async(upload_for)(request, call))


@router.get(
    "/ocr/jobs/{token}",
    openapi_extra=query_parameters(JobOptions),
    response=Job,
    summary="Get an OCR job's status and text",
)
@v1("ocr", source="ocr")
async def job_status(request: HttpRequest, call: Call, token: str) -> HttpResponse:
    """`?digits=latin` gives every number in 0-9 (default `printed`: as on the page)."""
    options = parse_query(request, JobOptions)
    payload = await sync_to_async(payloads.job_status)(token, call.ctx.owner_id, options.digits)
    return json_response(payload)


@router.post("/ocr/jobs/{token}/retry", response=RetryAccepted, summary="Retry a failed OCR job")
@v1("ocr", source="ocr", model=ocr_model)
async def retry(request: HttpRequest, call: Call, token: str) -> HttpResponse:
    """Re-runs the unfinished pages from the stored original; no re-upload."""
    job = await sync_to_async(lifecycle.retry_ocr_job)(token, call.ctx.owner_id)
    return json_response({"token": job.token, "status": "pending", "retry_count": job.retry_count})


@router.delete("/ocr/jobs/{token}", response=JobDeleted, summary="Delete an OCR job and its files")
@v1("ocr", source="ocr")
async def delete_job(request: HttpRequest, call: Call, token: str) -> HttpResponse:
    await sync_to_async(jobs.delete_ocr_job)(token, call.ctx.owner_id)
    return json_response({"token": token, "deleted": True})


@router.get(
    "/ocr/jobs/{token}/pdf", openapi_extra=PDF_ANSWER, summary="The document as a searchable PDF"
)
@v1("ocr", source="ocr")
async def searchable(request: HttpRequest, call: Call, token: str) -> HttpResponse:
    """The original with an invisible, selectable text layer on every OCR'd page."""
    data = await sync_to_async(jobs.searchable_pdf)(token, call.ctx.owner_id)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{token}-searchable.pdf"'
    return response


@router.get(
    "/ocr/jobs/{token}/{page_num}",
    openapi_extra=query_parameters(PageOptions),
    response=PageDetail,
    summary="Get one page: text, segments, image links",
)
@v1("ocr", source="ocr")
async def page(
    request: HttpRequest, call: Call, token: str, page_num: str = PAGE_NUM
) -> HttpResponse:
    """`?detail=words` adds the page's words and lines with boxes (pixels and fractions),
    confidence, script and direction; `?digits=latin` gives every number in 0-9."""
    options = parse_query(request, PageOptions)
    payload = await sync_to_async(payloads.page_detail)(
        token,
        call.ctx.owner_id,
        int(page_num),
        base_url=site_url(request),
        detail=options.detail,
        digits=options.digits,
    )
    return json_response(payload)


async def media(request: HttpRequest, call: Call, token: str, kind: str) -> HttpResponse:
    window = parse_query(request, MediaWindow)
    payload = await sync_to_async(payloads.media_page)(
        token, call.ctx.owner_id, kind, window.start, window.limit
    )
    return json_response(payload)


@router.get(
    "/ocr/thumbnails/{token}",
    openapi_extra=query_parameters(MediaWindow),
    response=Thumbnails,
    summary="Page thumbnails (~200 px wide), paginated",
)
@v1("ocr", source="ocr")
async def thumbnails(request: HttpRequest, call: Call, token: str) -> HttpResponse:
    return await media(request, call, token, "thumbnails")


@router.get(
    "/ocr/images/{token}",
    openapi_extra=query_parameters(MediaWindow),
    response=Images,
    summary="Full-resolution page images, paginated",
)
@v1("ocr", source="ocr")
async def images(request: HttpRequest, call: Call, token: str) -> HttpResponse:
    return await media(request, call, token, "images")
