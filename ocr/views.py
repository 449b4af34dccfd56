"""The OCR pages: upload (drag and drop or file picker), your jobs, a job filling in
live (htmx polling while it runs), one page's image beside its text, downloads.

Uploads here run the same flow as ``POST /v1/ocr/upload``, as the signed-in user (no
key): their allowlist, their wallet. Images are streamed through Portico for the
owner's session; ``/ocr/files/<signed>`` serves the API's signed links.
"""

from __future__ import annotations

from http import HTTPStatus

import orjson
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gateway.admission import admit_page
from ground.errors import ApiError, error_response
from ground.text import strict_int
from ocr import availability, jobs, lifecycle, payloads, settlement, storage, uploads
from ocr.models import OcrJob, OcrPage

RECENT_JOBS = 50


@require_http_methods(["GET", "POST"])
@login_required
def ocr_home(request: HttpRequest) -> HttpResponse:
    """Your jobs, and the upload form (which posts here)."""
    error = error_code = None
    status = HTTPStatus.OK
    if request.method == "POST":
        try:
            job = upload(request)
        except ApiError as exc:
            error, error_code, status = exc.message, exc.code, exc.status
        else:
            return redirect("ocr-job", token=job.token)
    jobs = OcrJob.objects.own().filter(owner=request.user).order_by("-id")[:RECENT_JOBS]
    context = {
        "jobs": jobs,
        "error": error,
        "error_code": error_code,
        "max_upload_mb": uploads.max_upload_bytes() // uploads.MB,
        "max_pages": settings.OCR_MAX_PAGES,
        "price": settlement.page_price(),
        "unavailable": availability.engine_unavailable_reason(),
    }
    return render(request, "ocr/home.html", context, status=status)


def upload(request: HttpRequest) -> OcrJob:
    """The portal's upload: admitted and run like ``POST /v1/ocr/upload``, as the user."""
    call = admit_page(request, settings.OCR_PAGE_MODEL, source="ocr")
    file = request.FILES.get("file")
    if file is None:
        raise ApiError(422, "Choose a PDF file to upload.", param="file")
    if file.size > uploads.max_upload_bytes():
        raise uploads.too_large(file.size)
    return uploads.start_ocr_job(
        call,
        uploads.Upload(
            filename=file.name or "",
            data=file.read(),
            language=request.POST.get("language", ""),
        ),
        source=OcrJob.Source.PORTAL,
    )


def owned(request: HttpRequest, token: str) -> tuple[OcrJob | None, HttpResponse | None]:
    """The user's job, or the page to answer instead (404 not yours, 410 expired)."""
    job = OcrJob.objects.own().filter(token=token, owner=request.user).first()
    if job is None:
        raise Http404("No such OCR job")
    if job.expired:
        page = render(request, "ocr/expired.html", {"job": job}, status=HTTPStatus.GONE)
        return None, page
    return job, None


def job_context(job: OcrJob) -> dict:
    pages = list(
        OcrPage.objects.filter(job=job)
        .order_by("page_num")
        .only("page_num", "status", "num_segments", "language", "path", "error", "width")
    )
    # The text, the bar and the tiles all come from these rows, so they always agree
    # (pages are read in parallel and out of order: "page 2 of 3" would be a guess).
    read = sum(page.status == OcrPage.Status.DONE for page in pages)
    return {
        "job": job,
        "pages": pages,
        "pages_read": read,
        "pages_failed": sum(page.status == OcrPage.Status.ERROR for page in pages),
        "progress": 100 if job.status == OcrJob.Status.DONE else read * 100 // max(len(pages), 1),
        "queue_position": jobs.queue_position(job),
        "can_retry": job.status == OcrJob.Status.ERROR and job.retryable,
        "retry_cap": settings.OCR_RETRY_CAP,
    }


@require_GET
@login_required
def job_page(request: HttpRequest, token: str) -> HttpResponse:
    """The job; its ``progress`` partial alone for htmx polls (every second while running)."""
    job, gone = owned(request, token)
    if gone:
        return gone
    if request.htmx:  # the poll: progress, and the PDF button once the job is finished
        return render(request, "ocr/job.html#progress", {**job_context(job), "oob": True})
    return render(request, "ocr/job.html", job_context(job))


@require_POST
@login_required
def delete_job(request: HttpRequest, token: str) -> HttpResponse:
    try:
        jobs.delete_ocr_job(token, request.user.pk)
    except ApiError as exc:
        if exc.status == HTTPStatus.NOT_FOUND:
            raise Http404("No such OCR job") from None
        raise
    messages.success(request, "Deleted the document, its pages and images.")
    return redirect("ocr")


@require_GET
@login_required
def searchable_pdf(request: HttpRequest, token: str) -> HttpResponse:
    job, gone = owned(request, token)
    if gone:
        return gone
    try:
        data = jobs.searchable_pdf(token, request.user.pk)
    except ApiError as exc:
        messages.error(request, exc.message)
        return redirect("ocr-job", token=token)
    stem = job.filename.rsplit(".", 1)[0] or "document"
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{stem}-searchable.pdf"'
    return response


@require_POST
@login_required
def retry_job(request: HttpRequest, token: str) -> HttpResponse:
    try:
        owned(request, token)  # not yours is a 404 before anything is admitted
        admit_page(request, settings.OCR_PAGE_MODEL, source="ocr")
        lifecycle.retry_ocr_job(token, request.user.pk)
    except ApiError as exc:
        if exc.status == HTTPStatus.NOT_FOUND:
            raise Http404("No such OCR job") from None
        messages.error(request, exc.message)
    else:
        messages.success(request, "Retrying the pages that failed.")
    return redirect("ocr-job", token=token)


@require_GET
@login_required
def page_view(request: HttpRequest, token: str, page_num: int) -> HttpResponse:
    job, gone = owned(request, token)
    if gone:
        return gone
    page = OcrPage.objects.filter(job=job, page_num=page_num).first()
    if page is None:
        raise Http404("No such page")
    blocks = [block for block in page.text.split("\n\n") if block.strip()]
    lines = [line_box(s) for s in page.segments if s.get("kind") == "line"]
    context = {
        "job": job,
        "page": page,
        "blocks": blocks,
        "lines": lines,
        "words": [line_box(word) for word in page.words],
        "previous": page_num - 1 if page_num > 1 else None,
        "next": page_num + 1 if page_num < job.total_pages else None,
    }
    return render(request, "ocr/page.html", context)


def line_box(segment: dict) -> dict:
    x0, y0, x1, y1 = segment["bbox"]
    return {
        "x": x0,
        "y": y0,
        "w": max(x1 - x0, 1),
        "h": max(y1 - y0, 1),
        "text": segment.get("text", ""),
        "confidence": segment.get("confidence", 0),
    }


@require_GET
@login_required
def page_file(request: HttpRequest, token: str, page_num: int, kind: str) -> HttpResponse:
    """A page's image or thumbnail for its owner's session (cached by the browser)."""
    if kind not in ("thumbnail", "page"):
        raise Http404("No such file")
    job, gone = owned(request, token)
    if gone:
        return gone
    page = OcrPage.objects.filter(job=job, page_num=page_num, status=OcrPage.Status.DONE).first()
    if page is None:
        raise Http404("This page has no image yet")
    name = page.thumbnail_name if kind == "thumbnail" else page.image_name
    response = FileResponse(storage.default_storage.open(name, "rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@login_required
def download(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    """The text (``txt``) or everything read (``json``), of the job or of ``?page=n``;
    ``?digits=latin`` gives every number in 0-9, like the API."""
    if fmt not in ("txt", "json"):
        raise Http404("No such format")
    digits = request.GET.get("digits", "") or "printed"
    if digits not in payloads.DIGITS:
        return HttpResponseBadRequest("digits must be 'printed' or 'latin'.")
    job, gone = owned(request, token)
    if gone:
        return gone
    pages = OcrPage.objects.filter(job=job, status=OcrPage.Status.DONE).order_by("page_num")
    stem = job.filename.rsplit(".", 1)[0] or "document"
    if page_num := request.GET.get("page", "").strip():
        number = strict_int(page_num)
        if number is None or not 1 <= number <= job.total_pages:
            raise Http404("No such page")
        pages = pages.filter(page_num=number)
        stem = f"{stem}-page-{page_num}"
    if fmt == "json":
        body = payloads.job_payload(job, digits)
        body["pages"] = [
            {
                **payloads.page_summary(page, digits),
                "segments": payloads.items_in_digits(page.segments, digits),
            }
            for page in pages
        ]
        content = orjson.dumps(body, option=orjson.OPT_INDENT_2)
        content_type = "application/json"
    else:
        parts = [
            f"--- Page {page.page_num} ---\n{payloads.page_summary(page, digits)['text']}"
            for page in pages
        ]
        content = ("\n\n".join(parts) + "\n").encode()
        content_type = "text/plain; charset=utf-8"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, f"{stem}.{fmt}")
    return response


@require_GET
def signed_file(request: HttpRequest, signed: str) -> HttpResponse:
    """The API's expiring links to page images when storage is local files."""
    try:
        name = storage.unsign_name(signed)
    except signing.SignatureExpired:
        return error_response(410, "This link has expired. Ask the API for a fresh one.")
    except signing.BadSignature:
        return error_response(403, "This link is not valid.", code="bad_signature")
    token = name.split("/")[1] if name.startswith("ocr/") and name.count("/") >= 2 else ""
    job = OcrJob.objects.filter(token=token).only("expires_at", "purged_at").first()
    if job is None or job.expired or not storage.exists(name):
        return error_response(410, "This file was deleted with its expired OCR job.")
    response = FileResponse(storage.default_storage.open(name, "rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
