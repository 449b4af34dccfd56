"""Passages out of pages (no Django imports).

A passage (chunk) holds consecutive paragraphs of one section of one page, about
``TARGET_WORDS`` long (never more than ``MAX_WORDS``: longer paragraphs are cut between
sentences). A headed section that runs over a page break leaves a short tail at the
bottom of its page; a tail under ``MIN_WORDS`` (not a whole short page) is joined to the start of the next page
when that continues the same section, so a passage covers at most two pages and knows
exactly which (``page_start`` ≤ ``page_end`` ≤ ``page_start + 1``).

The section title carries across pages until the next heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.extract import Page

TARGET_WORDS = 180
MAX_WORDS = 300
MIN_WORDS = 40
_SENTENCE_END = re.compile(r"(?<=[.!?؟。])\s+")
_PARAGRAPHS = re.compile(r"\n\s*\n")


@dataclass
class ChunkSpec:
    page_start: int
    page_end: int
    title: str
    text: str
    words: int


def _word_count(text: str) -> int:
    return len(text.split())


def _pieces(text: str) -> list[str]:
    """Paragraphs of ``text``, each cut to at most ``MAX_WORDS`` words."""
    out: list[str] = []
    for paragraph in _PARAGRAPHS.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if _word_count(paragraph) <= MAX_WORDS:
            out.append(paragraph)
            continue
        current: list[str] = []
        count = 0
        for sentence in _SENTENCE_END.split(paragraph):
            words = sentence.split()
            while len(words) > MAX_WORDS:  # one endless sentence: cut it by words
                if current:
                    out.append(" ".join(current))
                    current, count = [], 0
                out.append(" ".join(words[:TARGET_WORDS]))
                words = words[TARGET_WORDS:]
            if count and count + len(words) > TARGET_WORDS:
                out.append(" ".join(current))
                current, count = [], 0
            current.append(" ".join(words))
            count += len(words)
        if current:
            out.append(" ".join(current))
    return out


def chunk_pages(pages: list[Page], *, default_title: str = "") -> list[ChunkSpec]:
    """Passages of a document whose pages are numbered from 1."""
    chunks: list[ChunkSpec] = []
    title = default_title
    for number, page in enumerate(pages, start=1):
        parts: list[str] = []
        count = 0
        bare_heading = False  # a heading with no body yet on this page
        for kind, text in page:
            if kind == "h":
                _close(chunks, number, title, parts)
                parts, count = [], 0
                if bare_heading:  # two headings in a row: keep the first findable
                    chunks.append(ChunkSpec(number, number, title, title, _word_count(title)))
                title, bare_heading = text, True
                continue
            for piece in _pieces(text):
                words = _word_count(piece)
                if count and count + words > TARGET_WORDS:
                    _close(chunks, number, title, parts)
                    parts, count = [], 0
                parts.append(piece)
                count += words
                bare_heading = False
        _close(chunks, number, title, parts)
        if bare_heading:
            chunks.append(ChunkSpec(number, number, title, title, _word_count(title)))
    return _join_page_tails(chunks)


def _close(chunks: list[ChunkSpec], number: int, title: str, parts: list[str]) -> None:
    if parts:
        text = "\n\n".join(parts)
        chunks.append(ChunkSpec(number, number, title, text, _word_count(text)))


def _join_page_tails(chunks: list[ChunkSpec]) -> list[ChunkSpec]:
    out: list[ChunkSpec] = []
    for chunk in chunks:
        previous = out[-1] if out else None
        if (
            previous is not None
            and len(out) >= 2
            and out[-2].page_end == previous.page_start  # a tail, not a whole short page
            and previous.page_start == previous.page_end
            and chunk.page_start == chunk.page_end == previous.page_end + 1
            and previous.title == chunk.title
            and previous.words < MIN_WORDS
            and previous.words + chunk.words <= MAX_WORDS
            and previous.text != previous.title
        ):
            out[-1] = ChunkSpec(
                previous.page_start,
                chunk.page_end,
                chunk.title,
                previous.text + "\n\n" + chunk.text,
                previous.words + chunk.words,
            )
        else:
            out.append(chunk)
    return out


def chunk_static(
    pages: list[Page], max_tokens: int, overlap: int, *, title: str = ""
) -> list[ChunkSpec]:
    """OpenAI's ``static`` chunking strategy: windows of ``max_tokens`` words (a word
    stands for a token), each starting ``max_tokens - overlap`` words after the previous
    one, across pages; each passage knows the pages its words came from."""
    words = [
        (number, word)
        for number, page in enumerate(pages, start=1)
        for _, text in page
        for word in text.split()
    ]
    step = max(max_tokens - overlap, 1)
    chunks: list[ChunkSpec] = []
    for start in range(0, len(words), step):
        window = words[start : start + max_tokens]
        text = " ".join(word for _, word in window)
        chunks.append(ChunkSpec(window[0][0], window[-1][0], title, text, len(window)))
        if start + max_tokens >= len(words):
            break
    return chunks
