"""Bounded input for PDFs: refuse decompression bombs before pdfium decodes anything.

pdfium inflates a stream in one go when it needs it: a content stream, a Form XObject, a
font program, an object stream or a cross-reference stream of 1 MB that inflates to
1 GiB costs 2 GB of memory (and it parses an inline image's data while it parses the
content around it). Only images are safe: pdfium stops decoding them at their declared
size, so their cost is bounded by their declared pixel size, which :mod:`ocr.engine.pdf`
checks.

:func:`scan_pdf` reads the raw file with a small PDF parser of its own
(:mod:`ocr.engine.pdfreader`, :mod:`ocr.engine.pdfsyntax`) and decodes every stream
*incrementally*
(``zlib.decompressobj`` with ``max_length``, and bounded LZW, RunLength, ASCIIHex and
ASCII85 decoders, chained for nested filters), counting bytes and stopping at the limit,
so it never holds more than a 1 MiB chunk of any stream, nor more than one page's
content. It refuses (``PdfError``):

* ``stream_too_large``: any one stream decodes to more than ``max_stream_bytes``
  (image streams: more than their declared size allows);
* ``decompression_bomb``: a page's content (its content streams, counted once per
  reference, plus the Form XObjects it draws, once per ``Do`` since pdfium parses them
  again each time, tiling patterns, Type 3 glyphs, annotation appearances, and the
  inline images in all of these) decodes to more than
  ``max_page_content_bytes``; or the streams a page's resources reach (fonts, colour
  profiles, functions, ...) decode to more than ``max_page_resource_bytes`` (twice the
  stream limit); or the whole document's streams (images aside) decode to more than
  ``max_document_bytes``.

The page content limit is low (4 MiB) on purpose: pdfium keeps a parsed object for
each operator, and 4 MiB of densely packed text operators already cost ~260 MB.

Encrypted documents (those that open without a password) are decrypted the way pdfium
does it (RC4 or AES with the empty user password) before their streams are counted;
an unsupported security handler is refused as ``encrypted``. A file this parser cannot
follow at all is refused as ``corrupt`` rather than trusted.

Objects are found where pdfium finds them, through the cross-reference tables and
streams (newest entry first), falling back on a scan for ``N G obj`` (the last one wins)
for objects no cross-reference points at, as pdfium rebuilds a damaged table. Every
stream in the file is checked, whichever copy pdfium ends up using.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field

from .errors import PdfError
from .pdfreader import (
    Document,
    MiB,
    chain,
    follow_xref,
    index_objstm,
    mb,
    read_xref_stream,
    read_xref_tables,
    setup_crypt,
    trailer_of,
)
from .pdfsyntax import Malformed, Name, Ref, Stream, TooLarge, parse, pieces, skip_ws

MAX_STREAM_BYTES = 32 * MiB  # one decoded stream (fonts, object streams, ...)
MAX_PAGE_CONTENT_BYTES = 4 * MiB  # what pdfium parses into page objects, per page
MAX_DOCUMENT_BYTES = 512 * MiB  # all decoded streams of a document (images aside)
MAX_PAGE_IMAGE_BYTES = 160 * MiB  # declared decoded size of the images a page draws
MAX_PAGE_RESOURCE_BYTES = 2 * MAX_STREAM_BYTES  # a page's fonts, profiles, functions, ...
# Values (numbers, names, ...) this module's parser reads in a whole document: bounds the
# time and memory a file of huge arrays can cost it (pdfium would parse them too).
MAX_VALUES = 2_000_000


@dataclass(frozen=True, slots=True)
class PdfLimits:
    max_stream_bytes: int = MAX_STREAM_BYTES
    max_page_content_bytes: int = MAX_PAGE_CONTENT_BYTES
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    max_page_image_bytes: int = MAX_PAGE_IMAGE_BYTES
    max_page_resource_bytes: int = MAX_PAGE_RESOURCE_BYTES
    max_values: int = MAX_VALUES

    @classmethod
    def from_mb(cls, *, stream: int, page_content: int, page_images: int, document: int):
        """From the settings' megabytes; a page's resources may reach twice the stream limit."""
        return cls(
            stream * MiB, page_content * MiB, document * MiB, page_images * MiB, 2 * stream * MiB
        )


_limits = PdfLimits()


def configure(limits: PdfLimits) -> None:
    """Set the process-wide limits (``ocr/apps.py`` does it from Django settings)."""
    global _limits
    _limits = limits
    _cache.clear()


def current_limits() -> PdfLimits:
    return _limits


@dataclass(slots=True)
class PdfScan:
    """What :func:`scan_pdf` found: decoded content bytes per page (in page order)."""

    page_content_bytes: list[int] = field(default_factory=list)
    decoded_bytes: int = 0
    streams: int = 0


# --------------------------------------------------------------------------- the scan

_COMPONENTS = {
    "DeviceGray": 1, "G": 1, "CalGray": 1, "Indexed": 1, "I": 1, "Separation": 1,
    "DeviceRGB": 3, "RGB": 3, "CalRGB": 3, "Lab": 3, "DeviceCMYK": 4, "CMYK": 4,
}  # fmt: skip


def _image_bytes(doc: Document, d: dict) -> int:
    """Declared decoded size of an image (pdfium decodes no more than this)."""
    width, height = doc.resolve(d.get("Width")), doc.resolve(d.get("Height"))
    if not isinstance(width, int) or not isinstance(height, int) or width < 0 or height < 0:
        return 0
    bpc = doc.resolve(d.get("BitsPerComponent", 8))
    bpc = bpc if isinstance(bpc, int) and 0 < bpc <= 16 else 16
    space = doc.resolve(d.get("ColorSpace"))
    if doc.resolve(d.get("ImageMask")) is True:
        comps, bpc = 1, 1
    elif isinstance(space, list) and space:
        family = doc.resolve(space[0])
        comps = _COMPONENTS.get(family, 4)
        if family == "ICCBased" and len(space) > 1:
            profile = doc.resolve(space[1])
            n = doc.resolve(profile.dict.get("N")) if isinstance(profile, Stream) else None
            comps = n if isinstance(n, int) and 0 < n <= 32 else 4
        elif family == "DeviceN" and len(space) > 1:
            names = doc.resolve(space[1])
            comps = len(names) if isinstance(names, list) and names else 4
    else:
        comps = _COMPONENTS.get(space, 4)
    return ((width * comps * bpc + 7) // 8 + 1) * height  # + 1: a PNG predictor's tag


def _stream_cap(doc: Document, stream: Stream) -> tuple[int, str, bool]:
    """The decoded size ``stream`` may reach, how to name it, and whether it is an image."""
    d, limit = stream.dict, doc.limits.max_stream_bytes
    if doc.resolve(d.get("Subtype")) == "Image" and doc.resolve(d.get("Type")) in (
        None,
        "XObject",
    ):
        # Images may be large, but not larger than they say: pdfium stops there.
        declared = _image_bytes(doc, d)
        if declared > doc.limits.max_page_image_bytes:
            raise PdfError(
                "page_too_large",
                f"Object {stream.num} is an image that would decode to "
                f"{declared / MiB:.0f} MB; the limit is "
                f"{mb(doc.limits.max_page_image_bytes)} of images per page.",
            )
        cap = max(limit, declared + declared // 8 + MiB)
        return cap, f"Object {stream.num} (an image)", True
    return limit, f"Object {stream.num} (a stream)", False


MAX_PAGES_WALKED = 100_000


def _pages(doc: Document, root: object) -> list[tuple[dict, object, object]]:
    """The pages in document order with their inherited /Resources and /Annots."""
    catalog = doc.resolve(root)
    node = doc.resolve(catalog.get("Pages")) if isinstance(catalog, dict) else None
    if not isinstance(node, dict):
        return []
    pages: list[tuple[dict, object, object]] = []
    seen: set[int] = set()
    stack: list[tuple[object, object]] = [(node, None)]
    while stack and len(pages) < MAX_PAGES_WALKED:
        item, inherited = stack.pop()
        node = doc.resolve(item)
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        resources = node.get("Resources", inherited)
        kids = doc.resolve(node.get("Kids"))
        if isinstance(kids, list) and doc.resolve(node.get("Type")) != "Page":
            stack.extend((kid, resources) for kid in reversed(kids))
        else:
            pages.append((node, resources, node.get("Annots")))
    return pages


_do = re.compile(
    rb"/([^ \t\r\n\f\x00()<>\[\]{}/%]+)[ \t\r\n\f\x00]*Do(?![^ \t\r\n\f\x00()<>\[\]{}/%])"
)
_bi = re.compile(rb"(?<![^ \t\r\n\f\x00\]>)}])BI(?=[ \t\r\n\f\x00/])")
_id = re.compile(rb"ID[ \t\r\n\f\x00]")


class _PageBudget:
    """Decoded bytes pdfium parses into objects for one page, against the limit."""

    def __init__(self, doc: Document, number: int) -> None:
        self.doc, self.number, self.total = doc, number, 0
        self.cap = doc.limits.max_page_content_bytes
        self.sizes: dict[int, tuple[int, dict[str, int], int]] = {}

    def add(self, n: int) -> None:
        self.total += n
        if self.total > self.cap:
            raise PdfError(
                "decompression_bomb",
                f"Page {self.number}'s content decodes to more than {mb(self.cap)}, "
                f"the limit per page.",
                page=self.number,
            )

    def content(self, streams: list[Stream], times: int = 1) -> dict[str, int]:
        """Count ``streams`` (concatenated, like pdfium) ``times``; return their Do counts."""
        key = id(streams[0]) if len(streams) == 1 else None
        if key is not None and key in self.sizes:
            size, calls, inline = self.sizes[key]
        else:
            buf = bytearray()
            cap = self.cap - self.total
            for stream in streams:
                what = f"Object {stream.num} (a stream)"
                limit = self.doc.limits.max_stream_bytes
                for chunk in self.doc.decode(stream, limit, "stream_too_large", what):
                    buf += chunk
                    if len(buf) > cap:
                        self.add(len(buf))
            size = len(buf)
            calls: dict[str, int] = {}
            for m in _do.finditer(buf):
                name = m.group(1).decode("latin-1")
                calls[name] = calls.get(name, 0) + 1
            inline = self._inline_images(bytes(buf), cap - size)
            if key is not None:
                self.sizes[key] = (size, calls, inline)
        self.add((size + inline) * times)
        return {name: count * times for name, count in calls.items()}

    def _inline_images(self, buf: bytes, cap: int) -> int:
        """Decoded bytes of the inline images (pdfium decodes them while parsing)."""
        total = 0
        for m in _bi.finditer(buf):
            pos, entries = m.end(), {}
            try:
                while True:
                    pos = skip_ws(buf, pos)
                    if _id.match(buf, pos):
                        break
                    key, pos = parse(buf, pos, self.doc.budget)
                    value, pos = parse(buf, pos, self.doc.budget)
                    if not isinstance(key, Name) or len(entries) > 64:
                        raise Malformed("inline image")
                    entries[str(key)] = value
            except Malformed:
                continue
            filters = entries.get("F", entries.get("Filter"))
            if not filters:
                continue  # raw data: already counted as content
            params = entries.get("DP", entries.get("DecodeParms"))
            start = pos + 3
            for chunk in chain(self.doc, pieces(memoryview(buf)[start:]), filters, params):
                total += len(chunk)
                if total > cap:
                    self.add(self.cap + 1)
        return total


def _streams(doc: Document, value: object) -> list[Stream]:
    value = doc.resolve(value)
    if isinstance(value, Stream):
        return [value]
    if isinstance(value, list):
        return [s for s in (doc.resolve(v) for v in value) if isinstance(s, Stream)]
    return []


def _walk_resources(
    doc: Document,
    budget: _PageBudget,
    resources: object,
    calls: dict[str, int],
    depth: int = 0,
) -> None:
    """Count the Form XObjects ``calls`` draws (times drawn), tiling patterns and Type 3
    glyph procedures reachable from ``resources``."""
    resources = doc.resolve(resources)
    if not isinstance(resources, dict) or depth > 12:
        return
    xobjects = doc.resolve(resources.get("XObject"))
    if isinstance(xobjects, dict):
        for name, times in calls.items():
            form = doc.resolve(xobjects.get(name))
            if isinstance(form, Stream) and doc.resolve(form.dict.get("Subtype")) == "Form":
                inner = budget.content([form], times)
                # A form without resources uses its parent's, as in pdfium.
                own = form.dict.get("Resources") or resources
                _walk_resources(doc, budget, own, inner, depth + 1)
    patterns = doc.resolve(resources.get("Pattern"))
    if isinstance(patterns, dict):
        for value in patterns.values():
            for pattern in _streams(doc, value):
                inner = budget.content([pattern])
                _walk_resources(doc, budget, pattern.dict.get("Resources"), inner, depth + 1)
    fonts = doc.resolve(resources.get("Font"))
    if isinstance(fonts, dict):
        for value in fonts.values():
            font = doc.resolve(value)
            procs = doc.resolve(font.get("CharProcs")) if isinstance(font, dict) else None
            if isinstance(procs, dict):
                for proc in procs.values():
                    for glyph in _streams(doc, proc):
                        budget.content([glyph])


def _check_page(doc: Document, number: int, page: dict, resources: object, annots: object) -> int:
    budget = _PageBudget(doc, number)
    contents = _streams(doc, page.get("Contents"))
    if contents:
        calls = budget.content(contents)
        _walk_resources(doc, budget, resources, calls)
    annots = doc.resolve(annots)
    for annot in annots if isinstance(annots, list) else []:
        annot = doc.resolve(annot)
        ap = doc.resolve(annot.get("AP")) if isinstance(annot, dict) else None
        normal = doc.resolve(ap.get("N")) if isinstance(ap, dict) else None
        states = list(normal.values()) if isinstance(normal, dict) else [normal]
        for state in states:
            for form in _streams(doc, state):
                inner = budget.content([form])
                _walk_resources(doc, budget, form.dict.get("Resources"), inner)
    _check_resources(doc, number, [resources, annots, page.get("Group"), *doc.form_resources])
    return budget.total


MAX_RESOURCE_VISITS = 200_000
NOT_RESOURCES = frozenset({"Parent", "P", "Dest", "A", "PA", "Next", "Prev", "First", "Last"})


IMAGE_ROLES = frozenset({"XObject/", "SMask", "Mask", "Thumb"})


def _check_resources(doc: Document, number: int, roots: list[object]) -> None:
    """Bound what pdfium may hold at once to draw a page besides its content: every
    stream reachable from the page's resources, annotations and group (fonts, colour
    profiles, functions, forms), each once. Images drawn as images are left out (pdfium
    decodes them no further than their declared size); a stream that only calls itself
    an image, reached as a font program or a profile, is counted like any other."""
    key = tuple(id(doc.resolve(root)) for root in roots)
    if key in doc.resource_totals:
        return
    cap = doc.limits.max_page_resource_bytes
    total, visits = 0, 0
    seen: set[tuple[int, bool]] = set()
    stack: list[tuple[object, str]] = [(root, "") for root in roots]
    while stack and visits < MAX_RESOURCE_VISITS:
        value, role = stack.pop()
        as_image = role in IMAGE_ROLES
        if isinstance(value, Ref):
            if (value[0], as_image) in seen:
                continue
            seen.add((value[0], as_image))
            value = doc.get(value[0])
        visits += 1
        if isinstance(value, Stream):
            if not (as_image and doc.resolve(value.dict.get("Subtype")) == "Image"):
                total += doc.stream_size(value)
                if total > cap:
                    raise PdfError(
                        "decompression_bomb",
                        f"Page {number}'s fonts, colour profiles and other resources "
                        f"decode to more than {mb(cap)}, the limit per page.",
                        page=number,
                    )
            value = value.dict
        if isinstance(value, dict):
            if doc.resolve(value.get("Type")) in ("Page", "Pages"):
                continue  # links to other pages are not this page's resources
            for name, item in value.items():
                if name not in NOT_RESOURCES:
                    stack.append((item, "XObject/" if role == "XObject" else name))
        elif isinstance(value, list):
            stack.extend((item, role) for item in value)
    doc.resource_totals[key] = total


def scan_pdf(data: bytes, limits: PdfLimits | None = None) -> PdfScan:
    """Check every stream of ``data`` and every page's content against ``limits``.

    Raises :class:`PdfError` (``stream_too_large``, ``decompression_bomb``, ``encrypted``).
    A file too damaged for this parser is left to pdfium (which refuses it as
    ``corrupt``): what could be read was checked.
    """
    try:
        return _scan(Document(bytes(data), limits or _limits))
    except PdfError:
        raise
    except TooLarge:
        raise PdfError(
            "too_complex",
            f"This PDF's structure holds more than {(limits or _limits).max_values:,} "
            f"values, the limit.",
        ) from None
    except Exception:  # a file this parser cannot follow, refused rather than trusted
        raise PdfError("corrupt", "This PDF's structure is damaged and cannot be read.") from None


def _scan(doc: Document) -> PdfScan:
    """Structure first (cross-reference and object streams), then each page's content,
    then every other stream; each stream is decoded at most once."""
    scan = PdfScan()
    streams: list[Stream] = []
    xref_dicts: list[tuple[int, dict]] = []
    ends = [pos for pos, _, _ in doc.headers[1:]] + [len(doc.data)]
    for (pos, num, gen), end in zip(doc.headers, ends, strict=True):
        if doc.data.find(b"stream", pos, end) < 0:
            continue  # not a stream: the page walk reads the objects it needs
        try:
            obj = doc.read_at(num, gen, pos)
        except Malformed:
            continue
        if isinstance(obj, Stream):
            streams.append(obj)
            if doc.resolve(obj.dict.get("Type")) == "XRef":
                xref_dicts.append((pos, obj.dict))
    scan.streams = len(streams)
    trailer = trailer_of(doc, xref_dicts)
    setup_crypt(doc, trailer)
    read_xref_tables(doc)
    for stream in streams:
        kind = doc.resolve(stream.dict.get("Type"))
        if kind in ("XRef", "ObjStm"):
            _check_stream(doc, stream, keep=True)
    follow_xref(doc)
    doc.cache.clear()  # objects read before the cross-references were followed
    catalog = doc.resolve(trailer.get("Root"))
    form = doc.resolve(catalog.get("AcroForm")) if isinstance(catalog, dict) else None
    if isinstance(form, dict) and form.get("DR") is not None:
        doc.form_resources = [form["DR"]]  # fonts pdfium may draw form fields with
    for index, (page, resources, annots) in enumerate(_pages(doc, trailer.get("Root"))):
        scan.page_content_bytes.append(_check_page(doc, index + 1, page, resources, annots))
    for stream in streams:
        if stream.start not in doc.checked:
            _check_stream(doc, stream)
    scan.decoded_bytes = doc.decoded
    return scan


def _check_stream(doc: Document, stream: Stream, keep: bool = False) -> None:
    cap, what, image = _stream_cap(doc, stream)
    buf = bytearray()
    for chunk in doc.decode(stream, cap, "stream_too_large", what, image=image):
        if keep:
            buf += chunk
    if keep and doc.resolve(stream.dict.get("Type")) == "XRef":
        read_xref_stream(doc, stream, bytes(buf))
    elif keep:
        index_objstm(doc, stream, bytes(buf))


# --------------------------------------------------------------------------- cache

_cache: OrderedDict[tuple, PdfScan | PdfError] = OrderedDict()
CACHE_SIZE = 4


def checked_scan(
    source: bytes | str | os.PathLike[str], limits: PdfLimits | None = None
) -> PdfScan:
    """:func:`scan_pdf` of ``source`` (bytes, or a path: read only when not remembered),
    remembered for the last few files: a Celery worker opens a document once per page."""
    limits = limits or _limits
    data = None
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        key: tuple = ("data", hashlib.blake2b(data, digest_size=20).digest(), limits)
    else:
        stat = os.stat(source)
        key = ("path", os.path.realpath(source), stat.st_size, stat.st_mtime_ns, limits)
    if key in _cache:
        _cache.move_to_end(key)
        result = _cache[key]
    else:
        if data is None:
            with open(source, "rb") as fh:
                data = fh.read()
        try:
            result = scan_pdf(data, limits)
        except PdfError as exc:
            result = exc
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    if isinstance(result, PdfError):
        raise PdfError(result.code, result.message, page=result.page)
    return result
