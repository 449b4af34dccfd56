"""Removing a page's own text before Portico's text layer goes over it.

Public API::

    remove_text(pdf: pikepdf.Pdf, page: pikepdf.Page, original: bytes, index: int) -> str

Returns what was done: ``"none"`` (the page draws no text), ``"stripped"`` (all its text
was invisible, render mode 3, and its text-showing operators were removed: the page looks
exactly as before) or ``"rasterised"`` (it drew visible text, which no extractor can be
kept from reading while it stays on the page, so the page is replaced by its own render,
at :data:`RASTER_DPI`, under the same boxes and annotations).

Text-showing operators are looked for in the page's content streams and in the Form
XObjects it draws (to :data:`MAX_FORM_DEPTH` levels); the render mode is followed
through ``q``/``Q`` and into forms, as a PDF reader does.
"""

from __future__ import annotations

import zlib

import numpy as np
import pikepdf
import pypdfium2 as pdfium

RASTER_DPI = 300
MAX_FORM_DEPTH = 8
SHOW_TEXT = frozenset({"Tj", "TJ", "'", '"'})
INVISIBLE = 3  # text render mode: neither fill nor stroke
IMAGE_NAME = "/PorticoPage"


def remove_text(pdf: pikepdf.Pdf, page: pikepdf.Page, original: bytes, index: int) -> str:
    """Take the page's own text away (see the module docstring)."""
    found = _Scan()
    found.walk(pikepdf.parse_content_stream(page), page.obj.get("/Resources"), 0, [0])
    if not found.invisible and not found.visible:
        return "none"
    if found.visible:
        _rasterise(pdf, page, original, index)
        return "rasterised"
    page.Contents = pdf.make_stream(
        pikepdf.unparse_content_stream(_without_text(pikepdf.parse_content_stream(page)))
    )
    for form in found.forms:
        form.write(
            pikepdf.unparse_content_stream(_without_text(pikepdf.parse_content_stream(form)))
        )
    return "stripped"


class _Scan:
    """Text-showing operators of a content stream and the forms it draws, by visibility."""

    def __init__(self) -> None:
        self.visible = 0
        self.invisible = 0
        self.forms: list[pikepdf.Stream] = []
        self._seen: set[tuple[int, int]] = set()

    def walk(self, instructions, resources, depth: int, mode: list[int]) -> None:
        stack: list[int] = []
        for item in instructions:
            if not isinstance(item, pikepdf.ContentStreamInstruction):
                continue  # inline images
            operator = str(item.operator)
            if operator == "q":
                stack.append(mode[0])
            elif operator == "Q" and stack:
                mode[0] = stack.pop()
            elif operator == "Tr" and item.operands:
                mode[0] = int(item.operands[0])
            elif operator in SHOW_TEXT:
                if mode[0] == INVISIBLE:
                    self.invisible += 1
                else:
                    self.visible += 1
            elif operator == "Do" and item.operands and depth < MAX_FORM_DEPTH:
                self._form(item.operands[0], resources, depth, mode[0])

    def _form(self, name, resources, depth: int, mode: int) -> None:
        try:
            form = resources["/XObject"][name]
        except (KeyError, TypeError, ValueError):
            return
        if not isinstance(form, pikepdf.Stream) or form.get("/Subtype") != pikepdf.Name.Form:
            return
        key = form.objgen
        if key != (0, 0) and key in self._seen:
            return
        self._seen.add(key)
        before = self.visible + self.invisible
        self.walk(
            pikepdf.parse_content_stream(form), form.get("/Resources", resources), depth + 1, [mode]
        )
        if self.visible + self.invisible > before:
            self.forms.append(form)


def _without_text(instructions) -> list:
    return [
        item
        for item in instructions
        if not (
            isinstance(item, pikepdf.ContentStreamInstruction) and str(item.operator) in SHOW_TEXT
        )
    ]


def _rasterise(pdf: pikepdf.Pdf, page: pikepdf.Page, original: bytes, index: int) -> None:
    """Replace the page's content by its render (upright in user space, over the crop
    box), keeping its boxes and annotations."""
    doc = pdfium.PdfDocument(original)
    try:
        source = doc[index]
        source.set_rotation(0)  # render in user space; /Rotate stays on the page
        bitmap = source.render(scale=RASTER_DPI / 72, may_draw_forms=True)
        rgb = np.ascontiguousarray(bitmap.to_numpy()[..., 2::-1])  # BGR(x) -> RGB
        source.close()
    finally:
        doc.close()
    gray = bool(
        np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])
    )
    pixels = rgb[..., 0] if gray else rgb
    height, width = pixels.shape[:2]
    image = pdf.make_stream(
        zlib.compress(pixels.tobytes(), 6),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=width,
        Height=height,
        ColorSpace=pikepdf.Name.DeviceGray if gray else pikepdf.Name.DeviceRGB,
        BitsPerComponent=8,
        Filter=pikepdf.Name.FlateDecode,
    )
    box = [float(v) for v in page.obj.get("/CropBox", page.mediabox)]
    x0, y0 = min(box[0], box[2]), min(box[1], box[3])
    w, h = abs(box[2] - box[0]), abs(box[3] - box[1])
    page.obj["/Resources"] = pikepdf.Dictionary(XObject=pikepdf.Dictionary({IMAGE_NAME: image}))
    page.Contents = pdf.make_stream(
        b"q %.4f 0 0 %.4f %.4f %.4f cm %s Do Q" % (w, h, x0, y0, IMAGE_NAME.encode())
    )
