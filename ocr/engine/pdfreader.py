"""Just enough of a PDF reader for :mod:`ocr.engine.limits`: find objects the way pdfium
does (cross-reference tables and streams, newest first, then a scan for ``N G obj``),
decrypt streams (standard security handler, empty user password) and decode them through
bounded filter chains, counting every byte against the document's limit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import PdfError
from .pdfsyntax import (
    ENDSTREAM,
    OBJ_KEYWORD,
    OBJ_NUMBERS,
    PAD,
    STREAM_KEYWORD,
    Malformed,
    Ref,
    Stream,
    TooLarge,
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

if TYPE_CHECKING:
    from .limits import PdfLimits

MiB = 1 << 20


def mb(n: int) -> str:
    return f"{n / MiB:g} MB"


class Document:
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
        self.form_resources: list[object] = []  # the interactive form's, drawn with pages
        self.budget = [limits.max_values]  # values the parser may read, all objects together

    def read_at(self, num: int, gen: int, pos: int) -> object:
        obj, end = parse(self.data, pos, self.budget)
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
                obj, _ = parse(objstm, pos, self.budget)
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
        for chunk in decode_stream(self, stream):
            total += len(chunk)
            self.decoded += 0 if image else len(chunk)
            if total > cap:
                raise PdfError(code, f"{what} decodes to more than {mb(cap)}, the limit.")
            if self.decoded > self.limits.max_document_bytes:
                raise PdfError(
                    "decompression_bomb",
                    f"This PDF's streams decode to more than "
                    f"{mb(self.limits.max_document_bytes)}, the limit per document.",
                )
            yield chunk


def decode_stream(doc: Document, stream: Stream) -> Iterator[bytes]:
    filters = doc.resolve(stream.dict.get("Filter"))
    params = doc.resolve(stream.dict.get("DecodeParms"))
    return chain(doc, pieces(doc.raw(stream)), filters, params)


def chain(doc: Document, chunks: Iterator[bytes], filters: object, params: object):
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


def setup_crypt(doc: Document, trailer: dict) -> None:
    enc = doc.resolve(trailer.get("Encrypt"))
    if not isinstance(enc, dict):
        return
    try:
        _standard_key(doc, trailer, enc)
    except (ValueError, TypeError, IndexError, AttributeError):
        raise PdfError(
            "encrypted", "This PDF's encryption is damaged or not supported; remove it."
        ) from None


def _standard_key(doc: Document, trailer: dict, enc: dict) -> None:
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


def _string(doc: Document, d: dict, key: str) -> bytes:
    value = doc.resolve(d.get(key))
    return value if isinstance(value, bytes) else b""


_objstm_header = re.compile(rb"\s*(\d+)\s+(\d+)")


def index_objstm(doc: Document, stream: Stream, data: bytes) -> None:
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
XREF_ENTRY_VALUES = 4  # what an entry costs from the parser's budget (it is kept)


def _charge(doc: Document) -> None:
    doc.budget[0] -= XREF_ENTRY_VALUES
    if doc.budget[0] < 0:
        raise TooLarge


def read_xref_tables(doc: Document) -> None:
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
                _charge(doc)
                if entry.group(3) == b"n":
                    doc.xref.append((start, num, ("o", int(entry.group(1)))))
            pos = skip_ws(data, pos)


def read_xref_stream(doc: Document, stream: Stream, data: bytes) -> None:
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
            _charge(doc)
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


def follow_xref(doc: Document) -> None:
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


def trailer_of(doc: Document, xref_dicts: list[tuple[int, dict]]) -> dict:
    """The last trailer (or cross-reference stream dictionary) that names a /Root."""
    found = list(xref_dicts)
    for m in _trailer_kw.finditer(doc.data):
        try:
            found.append((m.start(), parse(doc.data, m.end() - 2, doc.budget)[0]))
        except Malformed:
            continue
    found.sort(key=lambda item: item[0])
    merged: dict = {}
    for _, d in found:
        if isinstance(d, dict):
            merged.update({k: v for k, v in d.items() if k in ("Root", "Encrypt", "ID")})
    return merged
