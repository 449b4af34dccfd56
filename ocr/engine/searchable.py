"""Searchable PDFs: the original document with an invisible text layer on OCR'd pages.

Public API::

    build_searchable_pdf(original: bytes, pages: Sequence[TextLayerPage | None]) -> bytes
    text_layer_page(result: PageResult) -> TextLayerPage | None

``pages[i]`` describes page ``i`` of ``original`` (``None``, or a missing entry, leaves
the page alone: pages that already had a text layer, say). Each page keeps its content
exactly as it was; a text layer is laid over it as a Form XObject (pikepdf's
``add_overlay``, so the page's own content stream and resources are not rewritten),
like OCRmyPDF's output: every recognised word is drawn with text render mode 3
(invisible) at its place, scaled to its box, so the text can be selected, searched and
copied, Arabic included.

The font is Tesseract's *GlyphLessFont* (``glyphless.ttf``, Tesseract's ``pdf.ttf``,
Apache-2.0): a Type0 font with Identity-H encoding whose character codes are the
UTF-16 code units of the text, every code mapped to one empty glyph, and a ToUnicode
map that maps each code to itself, so any script extracts as written. Words are
written one text object each, at their box; right-to-left words in visual order, which
text extraction (pdfium, poppler, Acrobat) turns back into logical order.

**One text layer per page.** A page Portico OCR'd had no text layer it could trust, but
it may have had one all the same (a scanner's earlier OCR, text with a broken
``ToUnicode`` map, Arabic stored in visual order): left in place, its text would be
extracted beside Portico's, twice and scrambled. So on every page that gets Portico's
layer the old one goes (:mod:`ocr.engine.oldtext`): invisible text (render mode 3, an
earlier OCR layer) is removed from the page's content, which looks exactly as before;
visible text that could not be trusted is replaced by the page rendered as an image
(like OCRmyPDF's ``--force-ocr``), since it cannot be hidden from extractors without
disappearing from the page too. Pages that Portico did not OCR (``None``: their own good
text layer was used) keep their content untouched.

Known limit: on a page the engine turned by 180 degrees, pdfium extracts each word
correctly but the words of a line in reverse order (it orders upside-down text by its
x position on the page, whatever the content order).

Boxes are in pixels of the engine's final page image, which was turned by ``rotation``
quarter turns and deskewed by ``skew_angle`` degrees (see
:class:`~ocr.engine.results.PageResult`); they are mapped back onto the page, so on a
skewed scan each word's text runs along the skewed line.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pikepdf

from .oldtext import remove_text
from .results import PageResult

GLYPH_ADVANCE = 0.5  # em; the width given to every glyph of the glyphless font
FONT_NAME = "/PorticoOcrText"
LINE_TRIM = 0.15  # share of a line box's height left out at its top and at its bottom


@dataclass(frozen=True, slots=True)
class TextLayerPage:
    """What :func:`build_searchable_pdf` needs to know about one OCR'd page.

    ``width``/``height``: the final page image in pixels; ``words``: dicts with
    ``text``, ``bbox`` (``[x0, y0, x1, y1]`` in that image) and ``line`` (words of one
    line are separated by spaces); ``rotation``/``skew_angle`` as in ``PageResult``.
    """

    width: int
    height: int
    words: Sequence[dict] = field(default_factory=list)
    rotation: int = 0
    skew_angle: float = 0.0


def text_layer_page(result: PageResult) -> TextLayerPage | None:
    """The text layer for an OCR'd page result; None for a text-layer page."""
    if result.path != "ocr":
        return None
    return TextLayerPage(
        result.width, result.height, result.words, result.rotation, result.skew_angle
    )


@cache
def _font_program() -> bytes:
    return (Path(__file__).with_name("glyphless.ttf")).read_bytes()


_TO_UNICODE = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
1 beginbfrange
<0000> <FFFF> <0000>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""


def _font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    """The GlyphLessFont as an indirect Type0 font of ``pdf``."""
    # Every CID (a UTF-16 code unit) draws glyph 1, the font's only (empty) glyph.
    cid_to_gid = pikepdf.Stream(pdf, b"\x00\x01" * 65536)
    descriptor = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor,
            FontName=pikepdf.Name.GlyphLessFont,
            Flags=5,
            FontBBox=[0, 0, 1000 * GLYPH_ADVANCE, 1000],
            ItalicAngle=0,
            Ascent=1000,
            Descent=0,
            CapHeight=1000,
            StemV=80,
            FontFile2=pikepdf.Stream(pdf, _font_program()),
        )
    )
    cid_font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.CIDFontType2,
        BaseFont=pikepdf.Name.GlyphLessFont,
        CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=descriptor,
        DW=int(1000 * GLYPH_ADVANCE),
        CIDToGIDMap=pdf.make_indirect(cid_to_gid),
    )
    return pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type0,
            BaseFont=pikepdf.Name.GlyphLessFont,
            Encoding=pikepdf.Name("/Identity-H"),
            DescendantFonts=[pdf.make_indirect(cid_font)],
            ToUnicode=pdf.make_indirect(pikepdf.Stream(pdf, _TO_UNICODE)),
        )
    )


def _to_unit(page: TextLayerPage, x: float, y: float) -> tuple[float, float]:
    """A point of the final image -> fractions (0-1) of the upright, unskewed render."""
    w2, h2 = page.width, page.height
    w1, h1 = float(w2), float(h2)
    if abs(page.skew_angle) > 1e-6:
        theta = math.radians(page.skew_angle)
        cos, sin = math.cos(theta), math.sin(theta)
        # The deskew turned the image clockwise by skew_angle about its centre and grew
        # the canvas to fit: w2 = w1 cos + h1 |sin|, h2 = w1 |sin| + h1 cos.
        det = cos * cos - sin * sin
        w1 = (w2 * cos - h2 * abs(sin)) / det
        h1 = (h2 * cos - w2 * abs(sin)) / det
        dx, dy = x - w2 / 2, y - h2 / 2
        x = dx * cos + dy * sin + w1 / 2
        y = -dx * sin + dy * cos + h1 / 2
    # Undo the counter-clockwise quarter turns (numpy.rot90) back to the render.
    k = (page.rotation // 90) % 4
    if k == 1:
        return 1 - y / h1, x / w1
    if k == 2:
        return 1 - x / w1, 1 - y / h1
    if k == 3:
        return y / h1, 1 - x / w1
    return x / w1, y / h1


def _utf16_hex(text: str) -> bytes:
    return text.encode("utf-16-be").hex().upper().encode()


def _page_geometry(page: pikepdf.Page) -> tuple[float, float, float, float, int]:
    """The visible box (x0, y0, width, height) in user space and the page's /Rotate."""
    box = [float(v) for v in page.obj.get("/CropBox", page.mediabox)]
    x0, y0 = min(box[0], box[2]), min(box[1], box[3])
    return x0, y0, abs(box[2] - box[0]), abs(box[3] - box[1]), int(page.obj.get("/Rotate", 0))


def _to_user(
    u: float, v: float, geometry: tuple[float, float, float, float, int]
) -> tuple[float, float]:
    """Fractions of the displayed page (origin top-left) -> PDF user space."""
    x0, y0, w, h, rotate = geometry
    rotate %= 360
    if rotate == 90:  # displayed = user space turned clockwise
        return x0 + v * w, y0 + u * h
    if rotate == 180:
        return x0 + (1 - u) * w, y0 + v * h
    if rotate == 270:
        return x0 + (1 - v) * w, y0 + (1 - u) * h
    return x0 + u * w, y0 + (1 - v) * h


def _content(layer: TextLayerPage, geometry: tuple[float, float, float, float, int]) -> bytes:
    """The content stream drawing ``layer``'s words invisibly in user space.

    One text object per line. All words of a line share the line's band, trimmed by
    :data:`LINE_TRIM` at the top and bottom: extractors group glyphs into lines by
    their baselines and heights, a word's own box drops with its descenders, and the
    boxes of consecutive Arabic lines (dots above and below) often touch.
    """
    lines: dict[object, list[dict]] = {}
    for word in layer.words:
        if str(word.get("text", "")).strip():
            lines.setdefault(word.get("line"), []).append(word)
    out = io.BytesIO()
    for words in lines.values():
        top = min(float(w["bbox"][1]) for w in words)
        bottom = max(float(w["bbox"][3]) for w in words)
        trim = LINE_TRIM * (bottom - top)
        top, bottom = top + trim, bottom - trim
        if words[0].get("direction") == "rtl" and layer.rotation in (90, 270):
            # pdfium reads the words of a vertical right-to-left line back in reverse
            # (measured on Arabic pages turned by 90 and 270 degrees).
            words = words[::-1]
        out.write(b"BT 3 Tr\n")
        for index, word in enumerate(words):
            out.write(_show_word(layer, geometry, word, top, bottom, index + 1 == len(words)))
        out.write(b"ET\n")
    return out.getvalue()


def _show_word(
    layer: TextLayerPage,
    geometry: tuple[float, float, float, float, int],
    word: dict,
    top: float,
    bottom: float,
    last_in_line: bool,
) -> bytes:
    """Operators drawing one word over its box, between the line's ``top`` and ``bottom``."""
    text = str(word["text"]).strip()
    x0, x1 = float(word["bbox"][0]), float(word["bbox"][2])
    # Baseline from the box's bottom-left to bottom-right corner, mapped to the page.
    start = _to_user(*_to_unit(layer, x0, bottom), geometry)
    end = _to_user(*_to_unit(layer, x1, bottom), geometry)
    corner = _to_user(*_to_unit(layer, x0, top), geometry)
    length = math.hypot(end[0] - start[0], end[1] - start[1])
    size = math.hypot(corner[0] - start[0], corner[1] - start[1])
    if length < 0.1 or size < 0.1:
        return b""
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    cos, sin = math.cos(angle), math.sin(angle)
    stretch = 100.0 * length / (GLYPH_ADVANCE * size * len(text))
    if word.get("direction") == "rtl":
        # pdfium (like most extractors) puts a right-to-left run drawn left to right
        # back into logical order, so the glyphs go down in visual order.
        text = text[::-1]
    shown = text if last_in_line else text + " "
    return b"%s %.2f Tf %.2f Tz %.5f %.5f %.5f %.5f %.2f %.2f Tm <%s> Tj\n" % (
        FONT_NAME.encode(),
        size,
        stretch,
        cos,
        sin,
        -sin,
        cos,
        start[0],
        start[1],
        _utf16_hex(shown),
    )


def build_searchable_pdf(original: bytes, pages: Sequence[TextLayerPage | None]) -> bytes:
    """``original`` with an invisible text layer on each page that has an entry, in place
    of any text layer that page had (see the module docstring)."""
    pdf = pikepdf.open(io.BytesIO(original))
    font = None
    for index, page in enumerate(pdf.pages):
        layer = pages[index] if index < len(pages) else None
        if layer is None or not layer.words:
            continue
        remove_text(pdf, page, original, index)
        if font is None:
            font = _font(pdf)
        geometry = _page_geometry(page)
        x0, y0, w, h, _ = geometry
        overlay = pikepdf.Stream(pdf, _content(layer, geometry))
        overlay["/Type"] = pikepdf.Name.XObject
        overlay["/Subtype"] = pikepdf.Name.Form
        overlay["/BBox"] = [x0, y0, x0 + w, y0 + h]
        overlay["/Resources"] = pikepdf.Dictionary(Font=pikepdf.Dictionary({FONT_NAME: font}))
        page.add_overlay(pdf.make_indirect(overlay), pikepdf.Rectangle(x0, y0, x0 + w, y0 + h))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
