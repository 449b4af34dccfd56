"""The OCR API's response bodies (also the portal's JSON download), after API.md."""

from __future__ import annotations

from datetime import UTC, datetime

from ground.errors import ApiError
from ocr import engine, storage
from ocr.jobs import owned_job, queue_position
from ocr.models import OcrJob, OcrPage

DIGITS = ("printed", "latin")


def digits_option(value: str) -> str:
    """``?digits=``: ``printed`` (the default: numbers as the page prints them) or
    ``latin`` (every digit 0-9, ٫ ٬ as . ,); anything else is a 400."""
    value = value or "printed"
    if value not in DIGITS:
        raise ApiError(
            400,
            "'digits' must be 'printed' (the default) or 'latin'.",
            param="digits",
            code="invalid_parameter",
        )
    return value


def in_digits(text: str, digits: str) -> str:
    return engine.latin_digits(text) if digits == "latin" else text


def items_in_digits(items: list[dict], digits: str) -> list[dict]:
    if digits != "latin":
        return items
    return [{**item, "text": engine.latin_digits(str(item.get("text", "")))} for item in items]


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def upload_payload(job: OcrJob) -> dict:
    return {
        "token": job.token,
        "status": job.status,
        "progress": job.progress,
        "upload_progress": 100,
        "queue_position": queue_position(job),
    }


def page_summary(page: OcrPage, digits: str = "printed") -> dict:
    return {
        "page_num": page.page_num,
        "text": in_digits(page.text, digits),
        "num_segments": page.num_segments,
        "elapsed": round(page.elapsed, 2),
        "language": page.language,
        "skew_angle": page.skew_angle,
        "rotation": page.rotation,
        "path": page.path,
        "width": page.width,
        "height": page.height,
    }


def job_payload(job: OcrJob, digits: str = "printed") -> dict:
    """The job and the text of every page read so far (``digits``: see
    :func:`digits_option`)."""
    pages = job.pages.filter(status=OcrPage.Status.DONE).order_by("page_num")
    payload = {
        "token": job.token,
        "filename": job.filename,
        "status": job.status,
        "progress": job.progress,
        "total_pages": job.total_pages,
        "pages_done": job.pages_done,
        "pages": [page_summary(page, digits) for page in pages],
        "created_at": iso(job.created_at),
        "expires_at": iso(job.expires_at),
        "error": job.error or None,
        "retryable": job.retryable,
        "retry_count": job.retry_count,
    }
    if not job.finished:
        payload["queue_position"] = queue_position(job)
    return payload


def job_status(token: str, owner_id: int, digits: str = "") -> dict:
    digits = digits_option(digits)
    return job_payload(owned_job(token, owner_id), digits)


def word_boxes(page: OcrPage, digits: str = "printed") -> dict:
    """``?detail=words``: words and lines with boxes in page pixels and as fractions."""
    width, height = max(page.width, 1), max(page.height, 1)

    def box(item: dict) -> dict:
        x0, y0, x1, y1 = item["bbox"]
        return {
            **item,
            "bbox": {"x0": x0, "y0": y0, "x1": x1, "y1": y1},
            "bbox_fraction": {
                "x0": round(x0 / width, 5),
                "y0": round(y0 / height, 5),
                "x1": round(x1 / width, 5),
                "y1": round(y1 / height, 5),
            },
        }

    return {
        "width": page.width,
        "height": page.height,
        "lines": [box(line) for line in items_in_digits(page.lines, digits)],
        "words": [box(word) for word in items_in_digits(page.words, digits)],
    }


def page_detail(
    token: str,
    owner_id: int,
    page_num: int,
    *,
    base_url: str = "",
    detail: str = "",
    digits: str = "",
) -> dict:
    """One page with expiring links to its thumbnail and full image (null until read);
    ``detail="words"`` adds its words and lines with boxes (checked by
    ``ocr.schemas.PageOptions``); ``digits``: see :func:`digits_option`."""
    digits = digits_option(digits)
    if page_num < 1:
        raise ApiError(400, "page_num must be >= 1.", param="page_num", code="invalid_parameter")
    job = owned_job(token, owner_id)
    page = OcrPage.objects.filter(job=job, page_num=page_num).first()
    if page is None:
        raise ApiError(
            404,
            f"Page {page_num} does not exist; the document has {job.total_pages} pages.",
            code="page_not_found",
        )
    done = page.status == OcrPage.Status.DONE
    return {
        **page_summary(page, digits),
        "status": page.status,
        "thumbnail": {"url": storage.file_url(page.thumbnail_name, absolute_base=base_url)}
        if done
        else None,
        "image": {"url": storage.file_url(page.image_name, absolute_base=base_url)}
        if done
        else None,
        "segments": items_in_digits(page.segments, digits),
        "error": page.error or None,
        **(word_boxes(page, digits) if detail == "words" else {}),
    }


def media_page(token: str, owner_id: int, kind: str, start: int, limit: int) -> dict:
    """``kind`` "thumbnails" or "images": presigned URLs with object storage, data URIs
    otherwise. ``start`` and ``limit`` were checked where they came in
    (``ocr.schemas.MediaWindow``)."""
    job = owned_job(token, owner_id)
    end = min(start + limit, job.total_pages)
    field = "thumbnail_name" if kind == "thumbnails" else "image_name"
    names = OcrPage.objects.filter(
        job=job,
        status=OcrPage.Status.DONE,
        page_num__gt=start,
        page_num__lte=end,
    ).order_by("page_num")
    presigned = storage.uses_object_storage()
    items = []
    for page_num, name in names.values_list("page_num", field):
        if presigned:
            items.append({"page_num": page_num, "url": storage.file_url(name)})
        else:
            items.append({"page_num": page_num, "data": storage.data_uri(name)})
    return {
        kind: items,
        "start": start,
        "end": max(end, start),
        "total_pages": job.total_pages,
        "has_more": end < job.total_pages,
    }
