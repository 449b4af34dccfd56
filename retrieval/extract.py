"""Text out of uploaded files: DOCX, PPTX, Markdown and plain text (no Django imports).

Every extractor returns pages; a page is a list of blocks ``(kind, text)`` in reading
order, ``kind`` being ``"h"`` (a heading: it opens a section) or ``"p"`` (body text).
Office files are read by ``retrieval.office`` through the guarded ZIP/XML reader of
``retrieval.reading``.

The same limits hold whatever the format (``Limits``: pages, characters per page,
characters per document). Flowing text — plain text, Markdown, a DOCX page between
two page breaks — is split into pages of at most ``max_page_chars`` characters,
between paragraphs where it can (else lines, else words); a slide is a page of its
own and is refused when longer. Large text is cleaned in pieces, so that no single
regular-expression pass holds the interpreter for long.

Nothing is written anywhere until extraction has succeeded as a whole.
"""

from __future__ import annotations

import re

from retrieval.office import document_too_long, extract_docx, extract_pptx
from retrieval.reading import TOO_LARGE, Block, ExtractionError, Limits, Page
from retrieval.text import clean_text

__all__ = [
    "EXTRACTORS",
    "Block",
    "ExtractionError",
    "Limits",
    "Page",
    "extract",
    "extract_docx",
    "extract_markdown",
    "extract_pptx",
    "extract_text",
    "page_text",
    "pages_from_strings",
    "split_long_pages",
]

PIECE_CHARS = 256 * 1024  # large text is cleaned this much at a time
SEPARATOR = "\n\n"  # between the blocks of a page (``page_text``)


# --- Plain text and Markdown ------------------------------------------------------------
def decode_utf8(data: bytes, limits: Limits) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractionError(
            "invalid_utf8", f"The file is not valid UTF-8 (bad byte at offset {exc.start})."
        ) from None
    if len(text) > limits.max_chars:
        raise document_too_long(limits)
    return text


def cut(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, cut after a blank line where
    one is in the second half of a piece, else after a line, else after a space."""
    pieces = []
    start = 0
    while len(text) - start > size:
        end = start + size
        at = -1
        for mark in (SEPARATOR, "\n", " "):
            at = text.rfind(mark, start + size // 2, end)
            if at >= 0:
                at += len(mark)
                break
        at = at if at > start else end
        pieces.append(text[start:at])
        start = at
    pieces.append(text[start:])
    return pieces


def extract_text(data: bytes, limits: Limits | None = None) -> list[Page]:
    limits = limits or Limits()
    text = decode_utf8(data, limits)
    pages = [
        [("p", cleaned)]
        for piece in cut(text, limits.max_page_chars)
        if (cleaned := clean_text(piece))
    ]
    return split_long_pages(pages, limits)


def clean_in_pieces(text: str) -> list[str]:
    """``clean_text`` line by line over large text, a piece at a time."""
    lines: list[str] = []
    for piece in cut(text, PIECE_CHARS):
        if lines:
            lines.append("")  # pieces end on a blank line where they can
        lines.extend(clean_text(piece).split("\n"))
    return lines


_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def extract_markdown(data: bytes, limits: Limits | None = None) -> list[Page]:
    """ATX (``# Title``) and setext (underlined) headings open sections; long files are
    split into pages."""
    limits = limits or Limits()
    lines = clean_in_pieces(decode_utf8(data, limits))
    blocks: Page = []
    body: list[str] = []
    fenced = False

    def flush() -> None:
        text = "\n".join(body).strip()
        if text:
            blocks.append(("p", text))
        body.clear()

    for line in lines:
        if _FENCE.match(line):
            fenced = not fenced
            body.append(line)
            continue
        atx = None if fenced else _ATX.match(line)
        if atx:
            flush()
            blocks.append(("h", atx.group(2).strip()))
        elif not fenced and _SETEXT.match(line) and body and body[-1].strip():
            title = body.pop().strip()
            flush()
            blocks.append(("h", title))
        else:
            body.append(line)
    flush()
    return split_long_pages([blocks], limits) if any(text for _, text in blocks) else []


# --- Pages -------------------------------------------------------------------------------
def split_long_pages(pages: list[Page], limits: Limits) -> list[Page]:
    """Pages of at most ``max_page_chars`` characters (``page_text``): a longer page's
    blocks go on as many pages as they need, a longer block is cut (``cut``). Refused
    (413) past ``max_pages`` pages or ``max_chars`` characters."""
    size = limits.max_page_chars
    out: list[Page] = []
    total = 0
    for page in pages:
        total += sum(len(text) for _, text in page)
        if total > limits.max_chars:
            raise document_too_long(limits)
        if len(page_text(page)) <= size:
            out.append(page)
            continue
        current: Page = []
        used = 0
        for kind, text in page:
            for piece in cut(text, size) if len(text) > size else [text]:
                piece = piece.strip()
                if not piece:
                    continue
                extra = len(piece) + (len(SEPARATOR) if current else 0)
                if current and used + extra > size:
                    out.append(current)
                    current, used, extra = [], 0, len(piece)
                current.append((kind, piece))
                used += extra
        if current:
            out.append(current)
        if len(out) > limits.max_pages:
            break
    if len(out) > limits.max_pages:
        raise ExtractionError(
            "too_many_pages",
            f"The document has more than {limits.max_pages:,} pages of at most "
            f"{size:,} characters; the limit is {limits.max_pages:,}.",
            status=TOO_LARGE,
        )
    return out


def extract_docx_pages(data: bytes, limits: Limits | None = None) -> list[Page]:
    limits = limits or Limits()
    return split_long_pages(extract_docx(data, limits), limits)


# --- Dispatch ----------------------------------------------------------------------------
EXTRACTORS = {
    ".txt": extract_text,
    ".md": extract_markdown,
    ".markdown": extract_markdown,
    ".docx": extract_docx_pages,
    ".pptx": extract_pptx,
}


def extract(extension: str, data: bytes, limits: Limits | None = None) -> list[Page]:
    return EXTRACTORS[extension](data, limits or Limits())


def pages_from_strings(pages: list[str]) -> list[Page]:
    """JSON ingest: each string is a page of body text."""
    return [[("p", text)] if (text := clean_text(raw)) else [] for raw in pages]


def page_text(page: Page) -> str:
    return SEPARATOR.join(text for _, text in page)
