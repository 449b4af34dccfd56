"""What ``/v1/ocr`` takes and answers, as ninja ``Schema``s (after API.md).

The upload's text fields and the query options are checked here, once
(``ground.bodies``); the file itself stays where Django spooled it, bounded by the ASGI
guard (``portal.guard``) and read by the upload flow. The answers describe
``ocr.payloads`` for the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Schema
from pydantic import BeforeValidator, Field

from ground.bodies import ascii_int

MAX_MEDIA_LIMIT = 50


def _blank_is_none(value: object) -> object:
    return (value.strip() or None) if isinstance(value, str) else value


# --- Requests -----------------------------------------------------------------------------------
class UploadForm(Schema):
    """The upload's text fields (the PDF is the multipart part ``file``)."""

    language: Annotated[
        Literal["ara", "eng", "ara+eng"] | None, BeforeValidator(_blank_is_none)
    ] = Field(None, description="Omitted: detected automatically.")


DIGITS_DESCRIPTION = (
    "`printed` (the default): numbers as the page prints them (Arabic-Indic, Persian or "
    "Western digits); `latin`: every digit as 0-9, ٫ ٬ as . ,"
)


class JobOptions(Schema):
    digits: Literal["", "printed", "latin"] = Field("", description=DIGITS_DESCRIPTION)


class PageOptions(Schema):
    detail: Literal["", "words"] = Field(
        "", description="`words` adds the page's words and lines with boxes and confidence."
    )
    digits: Literal["", "printed", "latin"] = Field("", description=DIGITS_DESCRIPTION)


class MediaWindow(Schema):
    start: ascii_int(ge=0) = Field(0, description="0-based page offset.")
    limit: ascii_int(ge=1, le=MAX_MEDIA_LIMIT) = Field(
        10, description=f"Pages per answer, 1 to {MAX_MEDIA_LIMIT}."
    )


# --- Answers ------------------------------------------------------------------------------------
JobStatus = Literal["queued", "processing", "done", "error"]


class UploadAccepted(Schema):
    token: str
    status: JobStatus
    progress: int
    upload_progress: int
    queue_position: int | None


class PageSummary(Schema):
    page_num: int
    text: str
    num_segments: int
    elapsed: float = Field(description="Seconds spent reading the page.")
    language: str
    skew_angle: float
    rotation: int
    path: str = Field(description="`text_layer` or `ocr`: how the text was read.")
    width: int
    height: int


class Job(Schema):
    token: str
    filename: str
    status: JobStatus
    progress: int
    total_pages: int
    pages_done: int
    pages: list[PageSummary] = Field(description="The pages read so far.")
    created_at: str | None
    expires_at: str | None
    error: str | None
    retryable: bool
    retry_count: int
    queue_position: int | None = Field(None, description="Only while the job is not finished.")


class RetryAccepted(Schema):
    token: str
    status: Literal["pending"]
    retry_count: int


class JobDeleted(Schema):
    token: str
    deleted: bool


class Link(Schema):
    url: str


class Segment(Schema):
    kind: Literal["block", "line"]
    bbox: list[float] = Field(description="[x0, y0, x1, y1] in pixels of the page image.")
    text: str
    confidence: float
    block: int


class Box(Schema):
    x0: float
    y0: float
    x1: float
    y1: float


class TextBox(Schema):
    """A line or a word of ``?detail=words``."""

    text: str
    bbox: Box = Field(description="In pixels of the page image.")
    bbox_fraction: Box = Field(description="As fractions of the page's width and height.")
    confidence: float
    block: int
    direction: Literal["ltr", "rtl"]
    line: int | None = Field(None, description="A word's line (its index in `lines`).")
    script: str | None = Field(None, description="A word's script (`arabic`, `latin`, …).")


class PageDetail(PageSummary):
    status: Literal["pending", "done", "error"]
    thumbnail: Link | None = Field(description="Null until the page is read.")
    image: Link | None = Field(description="Null until the page is read.")
    segments: list[Segment]
    error: str | None
    lines: list[TextBox] | None = Field(None, description="With `?detail=words`.")
    words: list[TextBox] | None = Field(None, description="With `?detail=words`.")


class MediaItem(Schema):
    page_num: int
    url: str | None = Field(None, description="A presigned link (object storage).")
    data: str | None = Field(None, description="A `data:image/png;base64,…` URI (local files).")


class Thumbnails(Schema):
    thumbnails: list[MediaItem]
    start: int
    end: int
    total_pages: int
    has_more: bool


class Images(Schema):
    images: list[MediaItem]
    start: int
    end: int
    total_pages: int
    has_more: bool
