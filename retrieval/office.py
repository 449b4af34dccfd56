"""DOCX and PPTX text, read with ``retrieval.reading.SafeZip`` (no Django imports).

Office files are read here directly rather than through python-docx / python-pptx:
those parse every part of the package into one tree before anything can be checked.
A DOCX's ``word/document.xml`` is read as a stream: one paragraph (or one table row)
is held at a time and let go once its text is taken, so memory does not grow with the
part; paragraphs are counted (``MAX_PARAGRAPHS``), elements per paragraph or row too
(``MAX_UNIT_ELEMENTS``), and the text taken is counted against ``Limits.max_chars``.
A deck's slides are small parts, each read whole (``MAX_TREE_ELEMENTS``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.etree.ElementTree import Element

from retrieval.reading import (
    MAX_PARAGRAPHS,
    MAX_UNIT_ELEMENTS,
    TOO_LARGE,
    ExtractionError,
    Limits,
    Page,
    SafeZip,
    too_complex,
)
from retrieval.text import clean_text

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
NOTES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/notesSlide"
SLIDE_PARTS = re.compile(r"ppt/slides/[^/]+\.xml")


class TextBudget:
    """Counts the text and paragraphs a document yields against the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.chars = 0
        self.paragraphs = 0

    def paragraph(self, count: int = 1) -> None:
        self.paragraphs += count
        if self.paragraphs > MAX_PARAGRAPHS:
            raise too_complex(f"more than {MAX_PARAGRAPHS:,} paragraphs")

    def text(self, text: str) -> str:
        self.chars += len(text)
        if self.chars > self.limits.max_chars:
            raise document_too_long(self.limits)
        return text


def document_too_long(limits: Limits) -> ExtractionError:
    return ExtractionError(
        "document_too_long",
        f"The document has more than {limits.max_chars:,} characters of text; that is the "
        "limit for one document.",
        status=TOO_LARGE,
    )


# --- DOCX ----------------------------------------------------------------------------
_HEADING_NAME = re.compile(r"^(heading \d|title|subtitle)$", re.IGNORECASE)
_ON = {None, "", "1", "true", "on"}
PAGE_SECTIONS = {None, "nextPage", "oddPage", "evenPage"}
CONTAINERS = {f"{W}body", f"{W}sdt", f"{W}sdtContent", f"{W}customXml"}
SKIPPED = {f"{W}del", f"{W}pPr", f"{W}rPr", f"{W}instrText", f"{W}delText"}
PAGE = ("page", "")  # a page break in the stream of blocks


def _heading_styles(package: SafeZip) -> set[str]:
    if "word/styles.xml" not in package.names:
        return {"Title", "Subtitle"} | {f"Heading{n}" for n in range(1, 10)}
    ids = set()
    stack: list[Element] = []
    for event, element in package.stream("word/styles.xml"):
        if event == "start":
            stack.append(element)
            continue
        stack.pop()
        if element.tag == f"{W}style":
            name = element.find(f"{W}name")
            label = name.get(f"{W}val", "") if name is not None else ""
            if _HEADING_NAME.match(label) or element.find(f"{W}pPr/{W}outlineLvl") is not None:
                ids.add(element.get(f"{W}styleId", ""))
        if len(stack) == 1:  # a child of the root: read, let go
            stack[0].remove(element)
    return ids


def _runs(element: Element, parts: list[str], out: list, kind: str) -> None:
    """A paragraph's text into ``parts``; a page break flushes it into ``out``."""
    for child in element:
        tag = child.tag
        if tag == f"{W}t":
            parts.append(child.text or "")
        elif tag == f"{W}tab":
            parts.append("\t")
        elif tag in (f"{W}br", f"{W}cr"):
            if child.get(f"{W}type") == "page":
                out.append((kind, "".join(parts)))
                parts.clear()
                out.append(PAGE)
            else:
                parts.append("\n")
        elif tag not in SKIPPED:  # runs, hyperlinks, insertions, smart tags, fields…
            _runs(child, parts, out, kind)


def _paragraph(p: Element, heading_styles: set[str], sections: list) -> list:
    """The blocks of one paragraph: ``(kind, raw text)``, ``PAGE`` and, when the
    paragraph ends a section, ``("section", index)``."""
    out: list = []
    props = p.find(f"{W}pPr")
    kind = "p"
    if props is not None:
        before = props.find(f"{W}pageBreakBefore")
        if before is not None and before.get(f"{W}val") in _ON:
            out.append(PAGE)
        style = props.find(f"{W}pStyle")
        if (style is not None and style.get(f"{W}val") in heading_styles) or (
            props.find(f"{W}outlineLvl") is not None
        ):
            kind = "h"
    parts: list[str] = []
    _runs(p, parts, out, kind)
    out.append((kind, "".join(parts)))
    section = props.find(f"{W}sectPr") if props is not None else None
    if section is not None:
        out.append(("section", len(sections)))
        sections.append(_section_start(section))
    return out


def _section_start(section: Element) -> str | None:
    kind = section.find(f"{W}type")
    return kind.get(f"{W}val") if kind is not None else None


def _row(row: Element) -> str:
    cells = []
    for cell in row.findall(f"{W}tc"):
        texts = ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in cell.iter(f"{W}p")]
        cells.append(" ".join(t for t in texts if t))
    return " | ".join(c for c in cells if c)


def _docx_blocks(package: SafeZip, budget: TextBudget) -> tuple[list, list]:
    """The body's blocks in order, and how each section starts (``w:type`` of its
    ``sectPr``; absent means a new page). Only the paragraph or table row being read is
    held: everything else is removed from the tree as soon as it ends."""
    heading_styles = _heading_styles(package)
    blocks: list = []
    sections: list = []
    stack: list[Element] = []
    unit: Element | None = None  # the paragraph or table row being read
    unit_elements = 0
    for event, element in package.stream("word/document.xml"):
        if event == "start":
            if unit is not None:
                unit_elements += 1
                if unit_elements > MAX_UNIT_ELEMENTS:
                    raise too_complex(f"a paragraph has more than {MAX_UNIT_ELEMENTS:,} elements")
            elif _opens_unit(element, stack):
                unit, unit_elements = element, 0
            stack.append(element)
            continue
        stack.pop()
        if element is unit:
            unit = None
            if element.tag == f"{W}sectPr":  # the last section's (body level)
                sections.append(_section_start(element))
                read = []
            elif element.tag == f"{W}p":
                budget.paragraph()
                read = _paragraph(element, heading_styles, sections)
            else:
                budget.paragraph(sum(1 for _ in element.iter(f"{W}p")))
                read = [("p", _row(element))]
            for kind, value in read:
                if kind not in ("h", "p"):
                    blocks.append((kind, value))
                elif value.strip():  # counted as read, before anything piles up
                    blocks.append((kind, budget.text(value)))
        if unit is None and stack:
            stack[-1].remove(element)
    return blocks, sections


def _opens_unit(element: Element, stack: list[Element]) -> bool:
    """A paragraph (or the closing section properties) among the body's (or a content
    control's) children, or a row of a table that is."""
    if not stack or stack[0].tag != f"{W}document" or len(stack) < 2:
        return False
    inside = stack[1:]
    if element.tag in (f"{W}p", f"{W}sectPr"):
        return all(e.tag in CONTAINERS for e in inside)
    if element.tag == f"{W}tr":
        return inside[-1].tag == f"{W}tbl" and all(e.tag in CONTAINERS for e in inside[:-1])
    return False


def extract_docx(data: bytes, limits: Limits | None = None) -> list[Page]:
    limits = limits or Limits()
    package = SafeZip(data)
    if "word/document.xml" not in package.names:
        raise ExtractionError("corrupt", "This is not a Word document (no word/document.xml).")
    budget = TextBudget(limits)
    blocks, sections = _docx_blocks(package, budget)
    pages: list[Page] = [[]]
    for kind, value in blocks:
        if kind == "page" or (
            kind == "section" and value + 1 < len(sections) and sections[value + 1] in PAGE_SECTIONS
        ):
            if pages[-1]:
                pages.append([])
        elif kind != "section" and (text := clean_text(value)):
            pages[-1].append((kind, text))
    return [page for page in pages if page]


# --- PPTX ----------------------------------------------------------------------------
def _paragraphs(element: Element, budget: TextBudget) -> list[str]:
    out = []
    for para in element.iter(f"{A}p"):
        budget.paragraph()
        parts = []
        for child in para:
            if child.tag in (f"{A}r", f"{A}fld"):
                t = child.find(f"{A}t")
                parts.append((t.text or "") if t is not None else "")
            elif child.tag == f"{A}br":
                parts.append("\n")
        text = clean_text("".join(parts))
        if text:
            out.append(budget.text(text))
    return out


def _position(shape: Element) -> tuple[int, int] | None:
    off = shape.find(f"{P}spPr/{A}xfrm/{A}off")
    if off is None:
        off = shape.find(f"{P}xfrm/{A}off")  # graphic frames
    if off is None:
        return None
    try:
        return int(off.get("y", "0")), int(off.get("x", "0"))
    except ValueError:
        return None


Items = list[tuple[tuple[int, int] | None, str]]


def _shape_blocks(tree: Element, budget: TextBudget) -> tuple[str | None, Items]:
    """The slide title and the other text (with positions) of a shape tree."""
    title = None
    items: Items = []
    for shape in tree:
        if shape.tag == f"{P}grpSp":
            sub_title, sub_items = _shape_blocks(shape, budget)
            title = title or sub_title
            items.extend(sub_items)
        elif shape.tag == f"{P}sp":
            body = shape.find(f"{P}txBody")
            if body is None:
                continue
            text = "\n".join(_paragraphs(body, budget))
            ph = shape.find(f"{P}nvSpPr/{P}nvPr/{P}ph")
            if ph is not None and ph.get("type") in ("title", "ctrTitle") and title is None:
                title = text or None
            elif text:
                items.append((_position(shape), text))
        elif shape.tag == f"{P}graphicFrame":
            rows = []
            for row in shape.iter(f"{A}tr"):
                cells = [" ".join(_paragraphs(cell, budget)) for cell in row.findall(f"{A}tc")]
                line = " | ".join(c for c in cells if c)
                if line:
                    rows.append(line)
            if rows:
                items.append((_position(shape), "\n".join(rows)))
    return title, items


def _reading_order(items: Items) -> list[str]:
    """Top to bottom, then left to right, when every shape has a position."""
    if items and all(pos is not None for pos, _ in items):
        band = 457_200 // 2  # a quarter inch in EMU: shapes this close share a row
        items = sorted(items, key=lambda item: (item[0][0] // band, item[0][1]))  # type: ignore[index]
    return [text for _, text in items]


def _notes(package: SafeZip, part: str, budget: TextBudget) -> Iterable[str]:
    for kind, target in package.relationships(part).values():
        if kind != NOTES_REL or target not in package.names:
            continue
        notes_tree = package.tree(target).find(f"{P}cSld/{P}spTree")
        for shape in notes_tree.iter(f"{P}sp") if notes_tree is not None else ():
            ph = shape.find(f"{P}nvSpPr/{P}nvPr/{P}ph")
            body = shape.find(f"{P}txBody")
            if ph is not None and ph.get("type") == "body" and body is not None:
                yield from _paragraphs(body, budget)


def extract_pptx(data: bytes, limits: Limits | None = None) -> list[Page]:
    """One page per slide (a slide is never split: one longer than the page limit is
    refused)."""
    limits = limits or Limits()
    package = SafeZip(data, pages=SLIDE_PARTS, max_pages=limits.max_pages)
    if "ppt/presentation.xml" not in package.names:
        raise ExtractionError("corrupt", "This is not a PowerPoint file (no ppt/presentation.xml).")
    presentation = package.tree("ppt/presentation.xml")
    rels = package.relationships("ppt/presentation.xml")
    budget = TextBudget(limits)
    pages: list[Page] = []
    for slide_id in presentation.iter(f"{P}sldId"):
        _, part = rels.get(slide_id.get(f"{R}id", ""), ("", ""))
        if part not in package.names:
            continue
        tree = package.tree(part).find(f"{P}cSld/{P}spTree")
        blocks: Page = []
        if tree is not None:
            title, items = _shape_blocks(tree, budget)
            if title:
                blocks.append(("h", title))
            blocks.extend(("p", text) for text in _reading_order(items))
        blocks.extend(("p", text) for text in _notes(package, part, budget))
        if sum(len(text) for _, text in blocks) > limits.max_page_chars:
            raise ExtractionError(
                "page_too_long",
                f"Slide {len(pages) + 1} has more than {limits.max_page_chars:,} characters; "
                "that is the limit for one page.",
                status=TOO_LARGE,
            )
        pages.append(blocks)  # an empty slide is still a page: numbering follows the deck
    while pages and not pages[-1]:
        pages.pop()
    return pages if any(pages) else []
