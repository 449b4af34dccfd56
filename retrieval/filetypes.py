"""What a retrieval upload may be: its extension, declared type and file name."""

from __future__ import annotations

import posixpath

from retrieval.errors import RetrievalError
from retrieval.text import clean_text

MIME_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
}


# What clients send for a file part besides the exact type (curl, browsers, SDKs).
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}


ALSO_ACCEPTED = {
    ".docx": {"application/zip", "application/x-zip-compressed"},
    ".pptx": {"application/zip", "application/x-zip-compressed"},
    ".md": {"text/plain", "text/x-markdown"},
    ".markdown": {"text/plain", "text/x-markdown"},
    ".pdf": {"application/x-pdf"},
}


def extension_of(filename: str) -> str:
    return posixpath.splitext(filename.lower())[1]


def is_pdf(filename: str) -> bool:
    """Whether an upload of this name is read as a PDF (by OCR, which must be admitted)."""
    return extension_of(clean_filename(filename)) == ".pdf"


def clean_filename(filename: str | None) -> str:
    name = clean_text(filename or "").replace("\n", " ")
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255]


def check_content_type(extension: str, content_type: str | None) -> None:
    base = (content_type or "").split(";", 1)[0].strip().lower()
    allowed = {MIME_TYPES[extension]} | GENERIC_TYPES | ALSO_ACCEPTED.get(extension, set())
    if base not in allowed:
        raise RetrievalError(
            415,
            f"A {extension} file cannot be sent as {base}.",
            "unsupported_media_type",
            "file",
        )
