"""Bounded input for PDFs: refuse decompression bombs before pdfium decodes anything.

pdfium inflates a stream in one go when it needs it: a content stream, a Form XObject, a
font program, an object stream or a cross-reference stream of 1 MB that inflates to
1 GiB costs 2 GB of memory (and it parses an inline image's data while it parses the
content around it). Only images are safe: pdfium stops decoding them at their declared
size, so their cost is bounded by their declared pixel size, which :mod:`ocr.engine.pdf`
checks.

:func:`scan_pdf` reads the raw file with a small PDF parser of its own
(:mod:`ocr.engine.pdfsyntax`) and decodes every stream *incrementally*
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
from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import PdfError
from .pdfsyntax import (
    ENDSTREAM,
    OBJ_KEYWORD,
    OBJ_NUMBERS,
    PAD,
    STREAM_KEYWORD,
    Malformed,
    Name,
    Ref,
    Stream,
    aes_cbc,
    ascii85,
    ascii_hex,
    hash_r6,
    inflate,
    lzw,
    parse,
    pieces,
    rc4,
    run_length,
    skip_ws,
)

MiB = 1 << 20

MAX_STREAM_BYTES = 32 * MiB  # one decoded stream (fonts, object streams, ...)
MAX_PAGE_CONTENT_BYTES = 4 * MiB  # what pdfium parses into page objects, per page
MAX_DOCUMENT_BYTES = 512 * MiB  # all decoded streams of a document (images aside)
MAX_PAGE_IMAGE_BYTES = 160 * MiB  # declared decoded size of the images a page draws
MAX_PAGE_RESOURCE_BYTES = 2 * MAX_STREAM_BYTES  # a page's fonts, profiles, functions, ...


@dataclass(frozen=True, slots=True)
class PdfLimits:
    max_stream_bytes: int = MAX_STREAM_BYTES
    max_page_content_bytes: int = MAX_PAGE_CONTENT_BYTES
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    max_page_image_bytes: int = MAX_PAGE_IMAGE_BYTES
    max_page_resource_bytes: int = MAX_PAGE_RESOURCE_BYTES

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


def _mb(n: int) -> str:
    return f"{n / MiB:g} MB"


class _Document:
    """Just enough of a PDF reader to find every stream and walk the page tree."""

    def __init__(self, data: bytes, limits: PdfLimits) -> None:
        self.data = data
        self.limits = limits
        self.offsets: dict[int, int] = {}  # object number -> where its body starts
        self.headers: list[tuple[int, int, int]] = []  # (offset, num, gen)
        self.header_at: dict[int, tuple[int, int]] = {}  # "N G obj" offset -> (num, body)
        for m in OBJ_KEYWORD.finditer(data):  # "obj" is rare; look back for "N G" from there
            start = m.start()
            n = OBJ_NUMBERS.search(data, max(0, start - 40), start)
            if n is None:
                continue
            num, gen = int(n.group(1)), int(n.group(2))
            self.offsets[num] = m.end()  # the last one wins, unless a cross-reference says
            self.headers.append((m.end(), num, gen))
            self.header_at[n.start()] = (num, m.end())
        self.packed: dict[int, tuple[bytes, int]] = {}  # num -> (objstm data, offset)
        self.objstms: dict[int, tuple[bytes, list[int]]] = {}  # num -> (data, offsets)
        # Cross-reference entries by position in the file: (position, num, entry), where
        # entry is ("o", offset) or ("p", object stream, index).
        self.xref: list[tuple[int, int, tuple]] = []
        self.cache: dict[int, object] = {}
        self.crypt: _Crypt | None = None
        self.decoded = 0
        self.checked: set[int] = set()  # streams (by data offset) already decoded
        self.sizes: dict[int, int] = {}  # decoded size by data offset
        self.resource_totals: dict[tuple, int] = {}  # page resources already counted

    def read_at(self, num: int, gen: int, pos: int) -> object:
        obj, end = parse(self.data, pos)
        if isinstance(obj, dict):
            m = STREAM_KEYWORD.match(self.data, end)
            if m and b"stream" in m.group(0):
                return Stream(obj, m.end(), self._stream_end(obj, m.end()), num, gen)
        return obj

    def _stream_end(self, d: dict, start: int) -> int:
        length = d.get("Length")
        if isinstance(length, Ref):
            length = self.resolve(length)
        data = self.data
        if isinstance(length, int) and 0 <= length <= len(data) - start:
            after = skip_ws(data, start + length)
            if data.startswith(b"endstream", after):
                return start + length
        m = ENDSTREAM.search(data, start)
        return m.start() if m else len(data)

    def get(self, num: int) -> object:
        if num in self.cache:
            return self.cache[num]
        self.cache[num] = None  # a reference loop resolves to null
        obj: object = None
        try:
            if num in self.offsets:
                obj = self.read_at(num, 0, self.offsets[num])
            elif num in self.packed:
                objstm, pos = self.packed[num]
                obj, _ = parse(objstm, pos)
        except Malformed:
            obj = None
        self.cache[num] = obj
        return obj

    def resolve(self, value: object, hops: int = 0) -> object:
        while isinstance(value, Ref) and hops < 32:
            value = self.get(value[0])
            hops += 1
        return value

    def raw(self, stream: Stream) -> bytes | memoryview:
        raw = memoryview(self.data)[stream.start : stream.end]
        if self.crypt is not None and self.resolve(stream.dict.get("Type")) != "XRef":
            return self.crypt.decrypt(stream, bytes(raw))
        return raw

    def stream_size(self, stream: Stream) -> int:
        """Decoded size of a stream that is not an image (refused past the stream limit)."""
        if stream.start not in self.sizes:
            what = f"Object {stream.num} (a stream)"
            size = 0
            for chunk in self.decode(
                stream, self.limits.max_stream_bytes, "stream_too_large", what
            ):
                size += len(chunk)
            self.sizes[stream.start] = size
        return self.sizes[stream.start]

    def decode(
        self, stream: Stream, cap: int, code: str, what: str, *, image: bool = False
    ) -> Iterator[bytes]:
        """Decoded chunks of ``stream``; raise ``PdfError(code)`` past ``cap`` bytes.

        Counts towards the document's total unless it is an ``image`` (bounded by its
        declared size instead: a long honest scan decodes to gigabytes).
        """
        total = 0
        self.checked.add(stream.start)
        for chunk in _decode(self, stream):
            total += len(chunk)
            self.decoded += 0 if image else len(chunk)
            if total > cap:
                raise PdfError(code, f"{what} decodes to more than {_mb(cap)}, the limit.")
            if self.decoded > self.limits.max_document_bytes:
                raise PdfError(
                    "decompression_bomb",
                    f"This PDF's streams decode to more than "
                    f"{_mb(self.limits.max_document_bytes)}, the limit per document.",
                )
            yield chunk


def _decode(doc: _Document, stream: Stream) -> Iterator[bytes]:
    filters = doc.resolve(stream.dict.get("Filter"))
    params = doc.resolve(stream.dict.get("DecodeParms"))
    return _chain(doc, pieces(doc.raw(stream)), filters, params)


def _chain(doc: _Document, chunks: Iterator[bytes], filters: object, params: object):
    """Stack the decoders of ``filters`` (a name or a list) on ``chunks``."""
    if not isinstance(filters, list):
        filters = [filters] if filters else []
    if not isinstance(params, list):
        params = [params] * len(filters)
    for index, name in enumerate(filters):
        name = doc.resolve(name)
        param = doc.resolve(params[index]) if index < len(params) else None
        if name in ("FlateDecode", "Fl"):
            chunks = inflate(chunks)
        elif name in ("LZWDecode", "LZW"):
            early = doc.resolve(param.get("EarlyChange", 1)) if isinstance(param, dict) else 1
            chunks = lzw(chunks, 1 if early != 0 else 0)
        elif name in ("RunLengthDecode", "RL"):
            chunks = run_length(chunks)
        elif name in ("ASCIIHexDecode", "AHx"):
            chunks = ascii_hex(chunks)
        elif name in ("ASCII85Decode", "A85"):
            chunks = ascii85(chunks)
        elif name == "Crypt":
            continue
        else:
            break  # an image codec (DCT, JPX, CCITT, JBIG2): its output is pixels
    return chunks


class _Crypt:
    """The standard security handler with the empty user password (what pdfium uses
    when a document opens without a password)."""

    def __init__(self, key: bytes, method: str) -> None:
        self.key, self.method = key, method

    def decrypt(self, stream: Stream, raw: bytes) -> bytes:
        if self.method == "AESV3":
            key = self.key
        else:
            extra = b"sAlT" if self.method == "AESV2" else b""
            seed = self.key + stream.num.to_bytes(3, "little") + stream.gen.to_bytes(2, "little")
            key = hashlib.md5(seed + extra).digest()[: min(len(self.key) + 5, 16)]
        if self.method == "RC4":
            return rc4(key, raw)
        return aes_cbc(key, raw)


def _setup_crypt(doc: _Document, trailer: dict) -> None:
    enc = doc.resolve(trailer.get("Encrypt"))
    if not isinstance(enc, dict):
        return
    try:
        _standard_key(doc, trailer, enc)
    except (ValueError, TypeError, IndexError, AttributeError):
        raise PdfError(
            "encrypted", "This PDF's encryption is damaged or not supported; remove it."
        ) from None


def _standard_key(doc: _Document, trailer: dict, enc: dict) -> None:
    refuse = PdfError(
        "encrypted", "This PDF uses an encryption this service cannot check; remove it."
    )
    if doc.resolve(enc.get("Filter")) != "Standard":
        raise refuse
    v, r = doc.resolve(enc.get("V", 0)), doc.resolve(enc.get("R", 2))
    if not isinstance(v, int) or not isinstance(r, int):
        raise refuse
    method = "RC4"
    if v == 4 or v == 5:
        cf = doc.resolve(enc.get("CF"))
        stmf = doc.resolve(enc.get("StmF", "Identity"))
        if stmf == "Identity":
            return
        entry = doc.resolve(cf.get(stmf)) if isinstance(cf, dict) else None
        cfm = doc.resolve(entry.get("CFM")) if isinstance(entry, dict) else None
        method = {"V2": "RC4", "AESV2": "AESV2", "AESV3": "AESV3"}.get(cfm, "")
        if not method:
            raise refuse
    o, u = _string(doc, enc, "O"), _string(doc, enc, "U")
    if r in (5, 6):
        ue = _string(doc, enc, "UE")
        salt = u[40:48]  # the user key salt
        inter = hash_r6(b"", salt, b"") if r == 6 else hashlib.sha256(salt).digest()
        key = aes_cbc(inter, ue[:32], iv=b"\x00" * 16, unpad=False)
        doc.crypt = _Crypt(key, "AESV3")
        return
    length = doc.resolve(enc.get("Length", 40))
    n = 5 if r == 2 else max(5, min(16, (length if isinstance(length, int) else 40) // 8))
    p = doc.resolve(enc.get("P", 0))
    p = p if isinstance(p, int) else 0
    ids = doc.resolve(trailer.get("ID"))
    first_id = _string(doc, {"x": ids[0]}, "x") if isinstance(ids, list) and ids else b""
    md5 = hashlib.md5(PAD + o[:32] + (p & 0xFFFFFFFF).to_bytes(4, "little") + first_id)
    if r >= 4 and doc.resolve(enc.get("EncryptMetadata", True)) is False:
        md5.update(b"\xff\xff\xff\xff")
    key = md5.digest()[:n]
    if r >= 3:
        for _ in range(50):
            key = hashlib.md5(key[:n]).digest()[:n]
    doc.crypt = _Crypt(key, method)


def _string(doc: _Document, d: dict, key: str) -> bytes:
    value = doc.resolve(d.get(key))
    return value if isinstance(value, bytes) else b""


# --------------------------------------------------------------------------- the scan

_COMPONENTS = {
    "DeviceGray": 1, "G": 1, "CalGray": 1, "Indexed": 1, "I": 1, "Separation": 1,
    "DeviceRGB": 3, "RGB": 3, "CalRGB": 3, "Lab": 3, "DeviceCMYK": 4, "CMYK": 4,
}  # fmt: skip


def _image_bytes(doc: _Document, d: dict) -> int:
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


def _stream_cap(doc: _Document, stream: Stream) -> tuple[int, str, bool]:
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
                f"{_mb(doc.limits.max_page_image_bytes)} of images per page.",
            )
        cap = max(limit, declared + declared // 8 + MiB)
        return cap, f"Object {stream.num} (an image)", True
    return limit, f"Object {stream.num} (a stream)", False


_objstm_header = re.compile(rb"\s*(\d+)\s+(\d+)")


def _index_objstm(doc: _Document, stream: Stream, data: bytes) -> None:
    first = doc.resolve(stream.dict.get("First"))
    count = doc.resolve(stream.dict.get("N"))
    if not isinstance(first, int) or not isinstance(count, int) or first < 0:
        return
    pos = 0
    offsets: list[int] = []
    for _ in range(min(count, 1_000_000)):
        m = _objstm_header.match(data, pos, first)
        if not m:
            break
        num, offset = int(m.group(1)), int(m.group(2))
        offsets.append(first + offset)
        if num not in doc.offsets:  # without a cross-reference: the file body wins
            doc.packed[num] = (data, first + offset)
        pos = m.end()
    doc.objstms[stream.num] = (data, offsets)


_xref_kw = re.compile(rb"xref[ \t\r\n\f\x00]+")
_xref_section = re.compile(rb"(\d+)[ \t]+(\d+)[ \t]*(?:\r\n|\r|\n)?")
_xref_entry = re.compile(rb"[ \t\r\n\f\x00]*(\d{10})[ \t](\d{5})[ \t]([nf])")
MAX_XREF_ENTRIES = 10_000_000


def _read_xref_tables(doc: _Document) -> None:
    """The classic cross-reference tables ("xref" followed by "0 6", then entries)."""
    data, at = doc.data, 0
    while (at := data.find(b"xref", at)) >= 0:  # find() is much faster than a regex here
        start, at = at, at + 4
        m = _xref_kw.match(data, start)
        if m is None or (start and data[start - 1 : start].isalpha()):
            continue  # "startxref", or no whitespace after the keyword
        pos, seen = m.end(), 0
        while seen < MAX_XREF_ENTRIES:
            section = _xref_section.match(data, pos)
            if not section:
                break
            first, count = int(section.group(1)), int(section.group(2))
            pos = section.end()
            for num in range(first, first + min(count, MAX_XREF_ENTRIES - seen)):
                entry = _xref_entry.match(data, pos)
                if not entry:
                    break
                pos, seen = entry.end(), seen + 1
                if entry.group(3) == b"n":
                    doc.xref.append((start, num, ("o", int(entry.group(1)))))
            pos = skip_ws(data, pos)


def _read_xref_stream(doc: _Document, stream: Stream, data: bytes) -> None:
    widths = doc.resolve(stream.dict.get("W"))
    if not isinstance(widths, list) or len(widths) != 3:
        return
    widths = [w if isinstance(w, int) and 0 <= w <= 8 else 0 for w in widths]
    size = doc.resolve(stream.dict.get("Size"))
    index = doc.resolve(stream.dict.get("Index")) or [0, size if isinstance(size, int) else 0]
    row = sum(widths)
    if not isinstance(index, list) or not row:
        return
    pos = 0
    for first, count in zip(index[0::2], index[1::2], strict=False):
        if not isinstance(first, int) or not isinstance(count, int):
            return
        for num in range(first, first + min(count, MAX_XREF_ENTRIES)):
            if pos + row > len(data):
                return
            fields, at = [], pos
            for width in widths:
                fields.append(int.from_bytes(data[at : at + width], "big"))
                at += width
            pos += row
            kind = fields[0] if widths[0] else 1
            if kind == 1:
                doc.xref.append((stream.start, num, ("o", fields[1])))
            elif kind == 2:
                doc.xref.append((stream.start, num, ("p", fields[1], fields[2])))


def _follow_xref(doc: _Document) -> None:
    """Find objects where pdfium does: through the cross-references (the newest entry of
    each object wins), where they point at a real object."""
    newest: dict[int, tuple] = {}
    for _, num, entry in sorted(doc.xref, key=lambda item: item[0]):
        newest[num] = entry
    for num, entry in newest.items():
        if entry[0] == "o":
            header = doc.header_at.get(entry[1])
            if header is not None and header[0] == num:
                doc.offsets[num] = header[1]
                doc.packed.pop(num, None)
        else:
            objstm = doc.objstms.get(entry[1])
            if objstm is not None and 0 <= entry[2] < len(objstm[1]):
                doc.packed[num] = (objstm[0], objstm[1][entry[2]])
                doc.offsets.pop(num, None)


_trailer_kw = re.compile(rb"trailer[ \t\r\n\f\x00]*<<")


def _trailer(doc: _Document, xref_dicts: list[tuple[int, dict]]) -> dict:
    """The last trailer (or cross-reference stream dictionary) that names a /Root."""
    found = list(xref_dicts)
    for m in _trailer_kw.finditer(doc.data):
        try:
            found.append((m.start(), parse(doc.data, m.end() - 2)[0]))
        except Malformed:
            continue
    found.sort(key=lambda item: item[0])
    merged: dict = {}
    for _, d in found:
        if isinstance(d, dict):
            merged.update({k: v for k, v in d.items() if k in ("Root", "Encrypt", "ID")})
    return merged


MAX_PAGES_WALKED = 100_000


def _pages(doc: _Document, root: object) -> list[tuple[dict, object, object]]:
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

    def __init__(self, doc: _Document, number: int) -> None:
        self.doc, self.number, self.total = doc, number, 0
        self.cap = doc.limits.max_page_content_bytes
        self.sizes: dict[int, tuple[int, dict[str, int], int]] = {}

    def add(self, n: int) -> None:
        self.total += n
        if self.total > self.cap:
            raise PdfError(
                "decompression_bomb",
                f"Page {self.number}'s content decodes to more than {_mb(self.cap)}, "
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
                    key, pos = parse(buf, pos)
                    value, pos = parse(buf, pos)
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
            for chunk in _chain(self.doc, pieces(memoryview(buf)[start:]), filters, params):
                total += len(chunk)
                if total > cap:
                    self.add(self.cap + 1)
        return total


def _streams(doc: _Document, value: object) -> list[Stream]:
    value = doc.resolve(value)
    if isinstance(value, Stream):
        return [value]
    if isinstance(value, list):
        return [s for s in (doc.resolve(v) for v in value) if isinstance(s, Stream)]
    return []


def _walk_resources(
    doc: _Document,
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


def _check_page(doc: _Document, number: int, page: dict, resources: object, annots: object) -> int:
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
    _check_resources(doc, number, [resources, annots])
    return budget.total


MAX_RESOURCE_VISITS = 200_000
NOT_RESOURCES = frozenset({"Parent", "P", "Dest", "A", "PA", "Next", "Prev", "First", "Last"})


def _check_resources(doc: _Document, number: int, roots: list[object]) -> None:
    """Bound what pdfium may hold at once to draw a page besides its content: every
    stream reachable from the page's resources and annotations (fonts, colour profiles,
    functions, forms), each once; images aside (bounded by their declared size)."""
    key = tuple(id(doc.resolve(root)) for root in roots)
    if key in doc.resource_totals:
        return
    cap = doc.limits.max_page_resource_bytes
    total, seen, stack, visits = 0, set(), list(roots), 0
    while stack and visits < MAX_RESOURCE_VISITS:
        value = stack.pop()
        if isinstance(value, Ref):
            if value[0] in seen:
                continue
            seen.add(value[0])
            value = doc.get(value[0])
        visits += 1
        if isinstance(value, Stream):
            if doc.resolve(value.dict.get("Subtype")) != "Image":
                total += doc.stream_size(value)
                if total > cap:
                    raise PdfError(
                        "decompression_bomb",
                        f"Page {number}'s fonts, colour profiles and other resources "
                        f"decode to more than {_mb(cap)}, the limit per page.",
                        page=number,
                    )
            value = value.dict
        if isinstance(value, dict):
            if doc.resolve(value.get("Type")) in ("Page", "Pages"):
                continue  # links to other pages are not this page's resources
            stack.extend(v for k, v in value.items() if k not in NOT_RESOURCES)
        elif isinstance(value, list):
            stack.extend(value)
    doc.resource_totals[key] = total


def scan_pdf(data: bytes, limits: PdfLimits | None = None) -> PdfScan:
    """Check every stream of ``data`` and every page's content against ``limits``.

    Raises :class:`PdfError` (``stream_too_large``, ``decompression_bomb``, ``encrypted``).
    A file too damaged for this parser is left to pdfium (which refuses it as
    ``corrupt``): what could be read was checked.
    """
    try:
        return _scan(_Document(bytes(data), limits or _limits))
    except PdfError:
        raise
    except Exception:  # a file this parser cannot follow, refused rather than trusted
        raise PdfError("corrupt", "This PDF's structure is damaged and cannot be read.") from None


def _scan(doc: _Document) -> PdfScan:
    """Structure first (cross-reference and object streams), then each page's content,
    then every other stream; each stream is decoded at most once."""
    scan = PdfScan()
    streams: list[Stream] = []
    xref_dicts: list[tuple[int, dict]] = []
    for pos, num, gen in doc.headers:
        try:
            obj = doc.read_at(num, gen, pos)
        except Malformed:
            continue
        if isinstance(obj, Stream):
            streams.append(obj)
            if doc.resolve(obj.dict.get("Type")) == "XRef":
                xref_dicts.append((pos, obj.dict))
    scan.streams = len(streams)
    trailer = _trailer(doc, xref_dicts)
    _setup_crypt(doc, trailer)
    _read_xref_tables(doc)
    for stream in streams:
        kind = doc.resolve(stream.dict.get("Type"))
        if kind in ("XRef", "ObjStm"):
            _check_stream(doc, stream, keep=True)
    _follow_xref(doc)
    doc.cache.clear()  # objects read before the cross-references were followed
    for index, (page, resources, annots) in enumerate(_pages(doc, trailer.get("Root"))):
        scan.page_content_bytes.append(_check_page(doc, index + 1, page, resources, annots))
    for stream in streams:
        if stream.start not in doc.checked:
            _check_stream(doc, stream)
    scan.decoded_bytes = doc.decoded
    return scan


def _check_stream(doc: _Document, stream: Stream, keep: bool = False) -> None:
    cap, what, image = _stream_cap(doc, stream)
    buf = bytearray()
    for chunk in doc.decode(stream, cap, "stream_too_large", what, image=image):
        if keep:
            buf += chunk
    if keep and doc.resolve(stream.dict.get("Type")) == "XRef":
        _read_xref_stream(doc, stream, bytes(buf))
    elif keep:
        _index_objstm(doc, stream, bytes(buf))


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
