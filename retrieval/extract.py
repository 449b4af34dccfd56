"""Text out of uploaded files: DOCX, PPTX, Markdown and plain text (no Django imports).

Every extractor returns pages; a page is a list of blocks ``(kind, text)`` in reading
order, ``kind`` being ``"h"`` (a heading: it opens a section) or ``"p"`` (body text).

Office files are ZIP archives of XML parts and are read here directly, not through
python-docx / python-pptx, so that nothing is inflated or parsed unchecked:

- the archive is refused (``ExtractionError``, a 400) when it is an OLE container (what
  Office writes for a password-protected file), is not a ZIP, has encrypted members,
  too many members, declares more than ``MAX_UNPACKED_BYTES`` in total or an
  implausible compression ratio, or when a part inflates past its declared size;
- XML goes through defusedxml, which refuses DTDs, entity declarations (billion laughs)
  and external references (XXE) instead of expanding them.

Nothing is written anywhere until extraction has succeeded as a whole.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from retrieval.text import clean_text

Block = tuple[str, str]
Page = list[Block]

MAX_MEMBERS = 5_000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_PART_BYTES = 64 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed; real Office XML stays well under 100
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
NOTES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/notesSlide"


@dataclass
class ExtractionError(Exception):
    """The file cannot be read; ``message`` is safe to show to the uploader."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


# --- Plain text and Markdown ------------------------------------------------------------
def decode_utf8(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractionError(
            "invalid_utf8", f"The file is not valid UTF-8 (bad byte at offset {exc.start})."
        ) from None
    return text


def extract_text(data: bytes) -> list[Page]:
    text = clean_text(decode_utf8(data))
    return [[("p", text)]] if text else []


_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def extract_markdown(data: bytes) -> list[Page]:
    """One page; ATX (``# Title``) and setext (underlined) headings open sections."""
    lines = clean_text(decode_utf8(data)).split("\n")
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
    return [blocks] if any(text for _, text in blocks) else []


# --- ZIP and XML, defensively -----------------------------------------------------------
class SafeZip:
    """Read members of an Office archive with size, ratio and encryption checks."""

    def __init__(self, data: bytes) -> None:
        if data.startswith(OLE_MAGIC):
            raise ExtractionError(
                "encrypted",
                "This file is password-protected (or an old binary Office format); "
                "save it without a password as .docx / .pptx.",
            )
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
            raise ExtractionError("corrupt", "The file is not a valid Office document.") from None
        if len(infos) > MAX_MEMBERS:
            raise ExtractionError("zip_bomb", "The archive has too many members.")
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise ExtractionError("encrypted", "The archive's members are encrypted.")
            total += info.file_size
            if info.file_size > MAX_PART_BYTES or (
                info.file_size > 1024 * 1024
                and info.file_size > MAX_RATIO * max(info.compress_size, 1)
            ):
                raise ExtractionError(
                    "zip_bomb", "The archive inflates to an implausible size; refused."
                )
        if total > MAX_UNPACKED_BYTES:
            raise ExtractionError("zip_bomb", "The archive inflates to an implausible size.")
        self.names = {info.filename for info in infos}

    def read(self, name: str) -> bytes:
        try:
            info = self.zip.getinfo(name)
            with self.zip.open(info) as member:
                # Never trust the declared size: read at most one byte past it.
                data = member.read(info.file_size + 1)
        except KeyError:
            raise ExtractionError("corrupt", f"The document has no part {name}.") from None
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError):
            raise ExtractionError("corrupt", "The archive is damaged.") from None
        except Exception:  # zlib.error and friends from a forged stream
            raise ExtractionError("corrupt", "The archive is damaged.") from None
        if len(data) > info.file_size:
            raise ExtractionError("zip_bomb", "An archive member inflates past its size.")
        return data

    def xml(self, name: str) -> Element:
        data = self.read(name)
        try:
            return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except DefusedXmlException:
            raise ExtractionError(
                "unsafe_xml",
                "The document's XML declares a DTD or entities (XXE / entity expansion); refused.",
            ) from None
        except (ParseError, ValueError):
            raise ExtractionError("corrupt", f"The document's XML ({name}) is damaged.") from None

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """``{rId: (type, target part)}`` of ``part``."""
        folder, base = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        if rels_name not in self.names:
            return {}
        out = {}
        for rel in self.xml(rels_name).iter(f"{REL}Relationship"):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                continue
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            out[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(path))
        return out


# --- DOCX ----------------------------------------------------------------------------
_HEADING_NAME = re.compile(r"^(heading \d|title|subtitle)$", re.IGNORECASE)
_ON = {None, "", "1", "true", "on"}
PAGE_SECTIONS = {None, "nextPage", "oddPage", "evenPage"}


def _heading_styles(package: SafeZip) -> set[str]:
    if "word/styles.xml" not in package.names:
        return {"Title", "Subtitle"} | {f"Heading{n}" for n in range(1, 10)}
    ids = set()
    for style in package.xml("word/styles.xml").iter(f"{W}style"):
        name = style.find(f"{W}name")
        outline = style.find(f"{W}pPr/{W}outlineLvl")
        label = name.get(f"{W}val", "") if name is not None else ""
        if _HEADING_NAME.match(label) or outline is not None:
            ids.add(style.get(f"{W}styleId", ""))
    return ids


class _DocxWalker:
    def __init__(self, heading_styles: set[str], section_starts: list[str | None]) -> None:
        self.heading_styles = heading_styles
        # How each section starts (w:type of its sectPr; absent means a new page).
        self.section_starts = section_starts
        self.sections_ended = 0
        self.pages: list[Page] = [[]]
        self.parts: list[str] = []  # text of the paragraph being read

    def new_page(self) -> None:
        self.flush_paragraph("p")
        if self.pages[-1]:
            self.pages.append([])

    def flush_paragraph(self, kind: str) -> None:
        text = clean_text("".join(self.parts))
        self.parts.clear()
        if text:
            self.pages[-1].append((kind, text))

    def body(self, element: Element) -> None:
        for child in element:
            if child.tag == f"{W}p":
                self.paragraph(child)
            elif child.tag == f"{W}tbl":
                self.table(child)
            elif child.tag in (f"{W}sdt", f"{W}sdtContent", f"{W}customXml"):
                self.body(child)

    def paragraph(self, p: Element) -> None:
        props = p.find(f"{W}pPr")
        kind = "p"
        if props is not None:
            before = props.find(f"{W}pageBreakBefore")
            if before is not None and before.get(f"{W}val") in _ON:
                self.new_page()
            style = props.find(f"{W}pStyle")
            if (style is not None and style.get(f"{W}val") in self.heading_styles) or (
                props.find(f"{W}outlineLvl") is not None
            ):
                kind = "h"
        self.runs(p, kind)
        self.flush_paragraph(kind)
        if props is not None and props.find(f"{W}sectPr") is not None:
            # This paragraph ends a section; the *next* section's type says whether
            # it starts on a new page.
            self.sections_ended += 1
            starts = self.section_starts
            if self.sections_ended < len(starts) and starts[self.sections_ended] in PAGE_SECTIONS:
                self.new_page()

    def runs(self, element: Element, kind: str) -> None:
        for child in element:
            tag = child.tag
            if tag == f"{W}t":
                self.parts.append(child.text or "")
            elif tag == f"{W}tab":
                self.parts.append("\t")
            elif tag in (f"{W}br", f"{W}cr"):
                if child.get(f"{W}type") == "page":
                    self.flush_paragraph(kind)
                    self.new_page()
                else:
                    self.parts.append("\n")
            elif tag in (f"{W}del", f"{W}pPr", f"{W}rPr", f"{W}instrText", f"{W}delText"):
                continue
            else:  # runs, hyperlinks, insertions, smart tags, fields…
                self.runs(child, kind)

    def table(self, tbl: Element) -> None:
        self.flush_paragraph("p")
        for row in tbl.iter(f"{W}tr"):
            cells = []
            for cell in row.findall(f"{W}tc"):
                texts = ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in cell.iter(f"{W}p")]
                cells.append(" ".join(t for t in texts if t))
            line = clean_text(" | ".join(c for c in cells if c))
            if line:
                self.pages[-1].append(("p", line))


def extract_docx(data: bytes) -> list[Page]:
    package = SafeZip(data)
    if "word/document.xml" not in package.names:
        raise ExtractionError("corrupt", "This is not a Word document (no word/document.xml).")
    root = package.xml("word/document.xml")
    body = root.find(f"{W}body")
    if body is None:
        return []
    starts = [
        kind.get(f"{W}val") if (kind := section.find(f"{W}type")) is not None else None
        for section in body.iter(f"{W}sectPr")
    ]
    walker = _DocxWalker(_heading_styles(package), starts)
    walker.body(body)
    walker.flush_paragraph("p")
    return [page for page in walker.pages if page]


# --- PPTX ----------------------------------------------------------------------------
def _paragraphs(element: Element) -> list[str]:
    out = []
    for para in element.iter(f"{A}p"):
        parts = []
        for child in para:
            if child.tag in (f"{A}r", f"{A}fld"):
                t = child.find(f"{A}t")
                parts.append((t.text or "") if t is not None else "")
            elif child.tag == f"{A}br":
                parts.append("\n")
        text = clean_text("".join(parts))
        if text:
            out.append(text)
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


def _shape_blocks(tree: Element) -> tuple[str | None, list[tuple[tuple[int, int] | None, str]]]:
    """The slide title and the other text (with positions) of a shape tree."""
    title = None
    items: list[tuple[tuple[int, int] | None, str]] = []
    for shape in tree:
        if shape.tag == f"{P}grpSp":
            sub_title, sub_items = _shape_blocks(shape)
            title = title or sub_title
            items.extend(sub_items)
        elif shape.tag == f"{P}sp":
            body = shape.find(f"{P}txBody")
            if body is None:
                continue
            text = "\n".join(_paragraphs(body))
            ph = shape.find(f"{P}nvSpPr/{P}nvPr/{P}ph")
            if ph is not None and ph.get("type") in ("title", "ctrTitle") and title is None:
                title = text or None
            elif text:
                items.append((_position(shape), text))
        elif shape.tag == f"{P}graphicFrame":
            rows = []
            for row in shape.iter(f"{A}tr"):
                cells = [" ".join(_paragraphs(cell)) for cell in row.findall(f"{A}tc")]
                line = " | ".join(c for c in cells if c)
                if line:
                    rows.append(line)
            if rows:
                items.append((_position(shape), "\n".join(rows)))
    return title, items


def _reading_order(items: list[tuple[tuple[int, int] | None, str]]) -> list[str]:
    """Top to bottom, then left to right, when every shape has a position."""
    if items and all(pos is not None for pos, _ in items):
        band = 457_200 // 2  # a quarter inch in EMU: shapes this close share a row
        items = sorted(items, key=lambda item: (item[0][0] // band, item[0][1]))  # type: ignore[index]
    return [text for _, text in items]


def extract_pptx(data: bytes) -> list[Page]:
    package = SafeZip(data)
    if "ppt/presentation.xml" not in package.names:
        raise ExtractionError("corrupt", "This is not a PowerPoint file (no ppt/presentation.xml).")
    presentation = package.xml("ppt/presentation.xml")
    rels = package.relationships("ppt/presentation.xml")
    pages: list[Page] = []
    for slide_id in presentation.iter(f"{P}sldId"):
        _, part = rels.get(slide_id.get(f"{R}id", ""), ("", ""))
        if part not in package.names:
            continue
        tree = package.xml(part).find(f"{P}cSld/{P}spTree")
        blocks: Page = []
        if tree is not None:
            title, items = _shape_blocks(tree)
            if title:
                blocks.append(("h", title))
            blocks.extend(("p", text) for text in _reading_order(items))
        for kind, target in package.relationships(part).values():
            if kind == NOTES_REL and target in package.names:
                notes_tree = package.xml(target).find(f"{P}cSld/{P}spTree")
                for shape in notes_tree.iter(f"{P}sp") if notes_tree is not None else ():
                    ph = shape.find(f"{P}nvSpPr/{P}nvPr/{P}ph")
                    body = shape.find(f"{P}txBody")
                    if ph is not None and ph.get("type") == "body" and body is not None:
                        blocks.extend(("p", text) for text in _paragraphs(body))
        pages.append(blocks)  # an empty slide is still a page: numbering follows the deck
    while pages and not pages[-1]:
        pages.pop()
    return pages if any(pages) else []


# --- Dispatch ----------------------------------------------------------------------------
EXTRACTORS = {
    ".txt": extract_text,
    ".md": extract_markdown,
    ".markdown": extract_markdown,
    ".docx": extract_docx,
    ".pptx": extract_pptx,
}


def extract(extension: str, data: bytes) -> list[Page]:
    return EXTRACTORS[extension](data)


def pages_from_strings(pages: list[str]) -> list[Page]:
    """JSON ingest: each string is a page of body text."""
    return [[("p", text)] if (text := clean_text(raw)) else [] for raw in pages]


def page_text(page: Page) -> str:
    return "\n\n".join(text for _, text in page)
