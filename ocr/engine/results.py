"""Result types of :func:`ocr.engine.process_page`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SegmentKind = Literal["block", "line"]
BBox = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Segment:
    """A recognised block or line.

    Attributes:
        kind: ``"block"`` or ``"line"``.
        bbox: ``(x0, y0, x1, y1)`` in pixels of the *final* page image
            (``PageResult.image_png``, after orientation fix and deskew); ``x1``/``y1``
            are exclusive, origin top-left.
        text: the segment's text (a block's lines joined with ``\\n``).
        confidence: 0-100 (Tesseract's mean confidence; 100 for text-layer segments).
        block: index of the block this segment is (``kind="block"``) or belongs to.
    """

    kind: SegmentKind
    bbox: BBox
    text: str
    confidence: float
    block: int

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "bbox": list(self.bbox),
            "text": self.text,
            "confidence": round(self.confidence, 2),
            "block": self.block,
        }


@dataclass(slots=True)
class PageResult:
    """Everything :func:`ocr.engine.process_page` knows about one page.

    Attributes:
        page_num: 1-based page number.
        text: reading-order text; lines joined with ``\\n``, blocks separated by a blank
            line.
        segments: for each block, a ``"block"`` segment followed by its ``"line"``
            segments (in reading order).
        num_segments: number of *line* segments.
        language: ``"ara"``, ``"eng"`` or ``"ara+eng"`` (both scripts present, or no
            letters at all), from the script of the recognised characters.
        skew_angle: degrees of skew detected *and corrected*; positive means the content
            was rotated counter-clockwise (text lines rising to the right), so the image
            was rotated clockwise by this amount. 0.0 when nothing was corrected.
        rotation: 0/90/180/270 - the counter-clockwise quarter turn applied to fix the
            page orientation (before deskew).
        path: ``"text_layer"`` (embedded text used) or ``"ocr"``.
        elapsed: wall-clock seconds spent in ``process_page``.
        width, height: size of the final image in pixels (after a deskew the canvas is
            slightly larger than the render, so no content is cut off).
        image_png: the final (rotated, deskewed) grayscale page image, PNG.
        thumbnail_png: the same image ~200 px wide, PNG.
        timings: seconds per stage (``render``, ``preprocess``, ``orientation``,
            ``deskew``, ``ocr``, ``encode``), for diagnostics and benchmarks.
        lines: the line segments as JSON-ready dicts in reading order:
            ``{"text", "bbox": [x0, y0, x1, y1], "confidence", "block", "direction"}``
            (``direction`` ``"rtl"`` or ``"ltr"``, from the line's script).
        words: every recognised word in reading order: ``{"text", "bbox", "confidence",
            "line", "block", "script", "direction"}``; ``line`` indexes ``lines``,
            ``script`` is ``"arabic"``, ``"latin"`` or ``"common"``. Boxes are pixels of
            the final page image (divide by ``width``/``height`` for fractions). Empty
            for text-layer pages.
        preprocessing: the clean-up steps applied before recognition (see
            :mod:`ocr.engine.preprocess`), e.g. ``["illumination", "contrast"]``, and
            ``"upscale"`` when small print was read at twice the size.
    """

    page_num: int
    text: str
    segments: list[Segment]
    num_segments: int
    language: str
    skew_angle: float
    rotation: int
    path: Literal["text_layer", "ocr"]
    elapsed: float
    width: int
    height: int
    image_png: bytes = field(repr=False)
    thumbnail_png: bytes = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    lines: list[dict] = field(default_factory=list)
    words: list[dict] = field(default_factory=list)
    preprocessing: list[str] = field(default_factory=list)

    def to_dict(self, *, include_images: bool = False) -> dict[str, object]:
        """JSON-friendly dict (images omitted unless ``include_images``)."""
        data: dict[str, object] = {
            "page_num": self.page_num,
            "text": self.text,
            "segments": [s.to_dict() for s in self.segments],
            "num_segments": self.num_segments,
            "language": self.language,
            "skew_angle": self.skew_angle,
            "rotation": self.rotation,
            "path": self.path,
            "elapsed": self.elapsed,
            "width": self.width,
            "height": self.height,
            "timings": dict(self.timings),
            "lines": self.lines,
            "words": self.words,
            "preprocessing": list(self.preprocessing),
        }
        if include_images:
            data["image_png"] = self.image_png
            data["thumbnail_png"] = self.thumbnail_png
        return data
