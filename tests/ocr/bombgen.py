"""Decompression-bomb PDFs for the input limits of :mod:`ocr.engine.pdf` (built at test time).

Each maker returns the bytes of a small PDF (a few KB to ~1 MB) whose streams inflate to
``size`` bytes (1 GiB by default) when decoded, in one of the shapes an attacker can
choose: a page's content stream, many streams (or one stream referenced many times)
summing to a lot, an image XObject with a small declared size and huge data, a Form
XObject, doubly compressed data, an object stream, an xref stream, an inline image and a
font. :data:`SHAPES` maps a shape name to its maker; :func:`scan_pdf` builds a
legitimate multi-page scan for the other side of the limits.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from functools import cache

from PIL import Image

from .pdfgen import _assemble

GiB = 1 << 30
MiB = 1 << 20
CHUNK = b"\x00" * MiB


def deflated_zeros(size: int = GiB, prefix: bytes = b"") -> bytes:
    """zlib data that inflates to ``prefix`` then ``size`` zero bytes (~1 KB per MB).

    Compressed in 1 MiB chunks so the ``size`` bytes never exist at once.
    """
    return _deflated_zeros(size, prefix)


@cache
def _deflated_zeros(size: int, prefix: bytes) -> bytes:
    # With a full flush after each 1 MiB, every block after the first two is the same
    # bytes (the window holds only zeros), so 1 GiB takes milliseconds to build.
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    full, rest = divmod(size, MiB)
    blocks: list[bytes] = []
    for _ in range(min(full, 3)):
        blocks.append(comp.compress(CHUNK) + comp.flush(zlib.Z_FULL_FLUSH))
    if full > 3:
        assert blocks[1] == blocks[2], "zlib blocks of zeros are not periodic"
        blocks += [blocks[2]] * (full - 3)
    tail = comp.compress(b"\x00" * rest) + comp.flush()
    check = zlib.adler32(prefix)
    a, b = check & 0xFFFF, check >> 16
    b = (b + size * a) % 65521  # appending zeros leaves a alone and adds a per byte to b
    return b"\x78\xda" + head + b"".join(blocks) + tail + ((b << 16) | a).to_bytes(4, "big")


def _stream(data: bytes, entries: bytes = b"/Filter /FlateDecode") -> bytes:
    return b"<< %s /Length %d >>\nstream\n" % (entries, len(data)) + data + b"\nendstream"


def _page(contents: bytes, resources: bytes = b"") -> bytes:
    return (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %s "
        b"/Resources << %s >> >>" % (contents, resources)
    )


def _one_page(page: bytes, *extra: bytes) -> bytes:
    """Object 1 catalog, 2 pages, 3 the page, then ``extra`` objects from 4 on."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]
    return _assemble([*objects, page, *extra])


def content_bomb(size: int = GiB) -> bytes:
    """One FlateDecode content stream of ``size`` zero bytes (whitespace to a PDF parser)."""
    return _one_page(_page(b"4 0 R"), _stream(deflated_zeros(size)))


def many_streams_bomb(size: int = GiB, count: int = 64) -> bytes:
    """``count`` distinct content streams of ``size / count`` bytes each."""
    part = _stream(deflated_zeros(size // count))
    refs = b" ".join(b"%d 0 R" % (4 + i) for i in range(count))
    return _one_page(_page(b"[" + refs + b"]"), *([part] * count))


def repeated_stream_bomb(size: int = GiB, count: int = 256) -> bytes:
    """One stream of ``size / count`` bytes listed ``count`` times in the page's /Contents."""
    refs = b" ".join([b"4 0 R"] * count)
    return _one_page(_page(b"[" + refs + b"]"), _stream(deflated_zeros(size // count)))


def image_data_bomb(size: int = GiB) -> bytes:
    """A 100 x 100 gray image (10 KB declared) whose FlateDecode data inflates to ``size``."""
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    image = _stream(
        deflated_zeros(size),
        b"/Type /XObject /Subtype /Image /Width 100 /Height 100 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode",
    )
    return _one_page(_page(b"4 0 R", b"/XObject << /Im0 5 0 R >>"), _stream(content, b""), image)


def image_dimensions_bomb(side: int = 12_000) -> bytes:
    """An RGB image *declared* ``side`` x ``side`` (144 MP, under the pixel cap; 432 MB
    decoded) whose data is a few hundred KB of zeros: pdfium would allocate it all."""
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    image = _stream(
        deflated_zeros(side * side * 3),
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Filter /FlateDecode" % (side, side),
    )
    return _one_page(_page(b"4 0 R", b"/XObject << /Im0 5 0 R >>"), _stream(content, b""), image)


def form_bomb(size: int = GiB) -> bytes:
    """A Form XObject whose content stream inflates to ``size``."""
    form = _stream(
        deflated_zeros(size),
        b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Filter /FlateDecode",
    )
    return _one_page(_page(b"4 0 R", b"/XObject << /Fm0 5 0 R >>"), _stream(b"/Fm0 Do", b""), form)


def nested_filters_bomb(size: int = GiB) -> bytes:
    """A content stream compressed twice (/Filter [/FlateDecode /FlateDecode]): a few KB."""
    twice = zlib.compress(deflated_zeros(size), 9)
    return _one_page(_page(b"4 0 R"), _stream(twice, b"/Filter [/FlateDecode /FlateDecode]"))


def _xref_stream_pdf(objects: list[bytes], packed: dict[int, tuple[int, int]]) -> bytes:
    """Serialise with a cross-reference stream; ``packed[n] = (objstm, index)`` for objects
    stored in an object stream (their entry in ``objects`` is ignored)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number, body in enumerate(objects, start=1):
        if number in packed:
            continue
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_num = len(objects) + 1
    offsets[xref_num] = len(out)
    rows = [b"\x00\x00\x00\x00\x00\xff\xff"]
    for number in range(1, xref_num + 1):
        if number in packed:
            stm, index = packed[number]
            rows.append(b"\x02" + stm.to_bytes(4, "big") + index.to_bytes(2, "big"))
        else:
            rows.append(b"\x01" + offsets[number].to_bytes(4, "big") + b"\x00\x00")
    data = zlib.compress(b"".join(rows))
    out += (
        b"%d 0 obj\n" % xref_num
        + _stream(
            data,
            b"/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Filter /FlateDecode" % (xref_num + 1),
        )
        + b"\nendobj\n"
    )
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_num]
    return bytes(out)


def object_stream_bomb(size: int = GiB) -> bytes:
    """The page dictionary sits in an object stream padded with ``size`` bytes of zeros."""
    page = _page(b"4 0 R")
    header = b"3 0 "
    body = header + page + b"\n"
    data = deflated_zeros(size, body)
    objstm = _stream(data, b"/Type /ObjStm /N 1 /First %d /Filter /FlateDecode" % len(header))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"",  # 3: in the object stream
        _stream(b"", b""),
        objstm,
    ]
    return _xref_stream_pdf(objects, {3: (5, 0)})


def xref_stream_bomb(size: int = GiB) -> bytes:
    """A valid cross-reference stream followed by ``size`` bytes of zeros once inflated."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        _page(b"4 0 R"),
        _stream(b"", b""),
    ]
    pdf = _xref_stream_pdf(objects, {})
    # Re-pack the xref stream with the padding appended (rows first, then zeros).
    start = pdf.rindex(b"5 0 obj\n")
    xref_at = start
    head = pdf[:start]
    offsets = [0] + [head.index(b"%d 0 obj\n" % n) for n in range(1, 5)] + [xref_at]
    rows = [b"\x00\x00\x00\x00\x00\xff\xff"]
    rows += [b"\x01" + offsets[n].to_bytes(4, "big") + b"\x00\x00" for n in range(1, 6)]
    data = deflated_zeros(size, b"".join(rows))
    xref = _stream(data, b"/Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode")
    return head + b"5 0 obj\n" + xref + b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at


def inline_image_bomb(size: int = GiB) -> bytes:
    """An inline image (BI ... ID ... EI) of 100 x 100 declared pixels whose /Fl data
    inflates to ``size``, in an uncompressed content stream."""
    content = (
        b"q 595 0 0 842 0 0 cm\nBI /W 100 /H 100 /CS /G /BPC 8 /F /Fl ID\n"
        + deflated_zeros(size)
        + b"\nEI Q\n"
    )
    return _one_page(_page(b"4 0 R"), _stream(content, b""))


def font_bomb(size: int = GiB) -> bytes:
    """A TrueType font program (FontFile2) that inflates to ``size``, used by the page."""
    font = (
        b"<< /Type /Font /Subtype /TrueType /BaseFont /Bomb /FirstChar 32 /LastChar 32 "
        b"/Widths [500] /FontDescriptor 6 0 R >>"
    )
    descriptor = (
        b"<< /Type /FontDescriptor /FontName /Bomb /Flags 32 /FontBBox [0 0 1000 1000] "
        b"/ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 "
        b"/FontFile2 7 0 R >>"
    )
    content = b"BT /F1 12 Tf 72 720 Td ( ) Tj ET"
    return _one_page(
        _page(b"4 0 R", b"/Font << /F1 5 0 R >>"),
        _stream(content, b""),
        font,
        descriptor,
        _stream(deflated_zeros(size)),
    )


def lzw_zeros(size: int) -> bytes:
    """LZWDecode data (EarlyChange 1) of ``size`` zero bytes: codes 0, 258, 259, ... are
    runs of 1, 2, 3, ... zeros, so ~7 MB fit in each 6 KB table before a clear code."""
    out, acc, bits = bytearray(), 0, 0

    def emit(code: int, width: int) -> None:
        nonlocal acc, bits
        acc, bits = (acc << width) | code, bits + width
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
            acc &= (1 << bits) - 1

    left, width, table = size, 9, 258
    while left > 0:
        emit(256, width)  # clear: the table and the width start over
        table, width, run = 258, 9, 1
        emit(0, width)
        left -= 1
        while left > 0 and table < 4093:
            run += 1
            if run > left:
                break
            emit(table, width)  # the entry being defined: previous run + one zero
            table += 1
            left -= run
            if table + 1 >= (1 << width) and width < 12:
                width += 1
        while left > 0 and left < run:  # the tail: single zeros
            emit(0, width)
            table += 1
            left -= 1
            if table + 1 >= (1 << width) and width < 12:
                width += 1
            if table >= 4093:
                break
    emit(257, width)
    if bits:
        out.append((acc << (8 - bits)) & 0xFF)
    return bytes(out)


def lzw_bomb(size: int = GiB) -> bytes:
    """A content stream compressed with LZWDecode (as old as PDF 1.0) inflating to ``size``."""
    return _one_page(_page(b"4 0 R"), _stream(lzw_zeros(size), b"/Filter /LZWDecode"))


def text_operators_bomb(size: int = 8 * MiB) -> bytes:
    """``size`` bytes of densely packed text-showing operators (a few KB compressed):
    pdfium keeps an object for each, ~65 bytes of memory per byte of content."""
    op = b"(a)'\n"
    content = b"BT /F1 1 Tf\n" + op * (size // len(op)) + b"ET\n"
    return _one_page(
        _page(b"4 0 R", b"/Font << /F1 5 0 R >>"),
        _stream(zlib.compress(content, 9)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    )


def repeated_form_bomb(form_size: int = 128 << 10, times: int = 64) -> bytes:
    """A Form XObject of ``form_size`` bytes of text operators drawn ``times`` times:
    pdfium parses the form again for every ``Do``."""
    op = b"(a)'\n"
    ops = b"BT /F1 1 Tf\n" + op * (form_size // len(op)) + b"ET\n"
    form = _stream(
        zlib.compress(ops, 9),
        b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Filter /FlateDecode "
        b"/Resources << /Font << /F1 6 0 R >> >>",
    )
    return _one_page(
        _page(b"4 0 R", b"/XObject << /Fm0 5 0 R >>"),
        _stream(b"/Fm0 Do\n" * times, b""),
        form,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    )


def many_fonts_bomb(count: int = 16, size: int = 30 * MiB, disguise: bytes = b"") -> bytes:
    """``count`` TrueType font programs of ``size`` each (under the stream limit), all
    used by one page's text: pdfium holds them all. ``disguise`` adds entries to the
    font programs' dictionaries (to make them pass for images)."""
    shows = b" ".join(b"/F%d 12 Tf (a) Tj" % i for i in range(count))
    fonts = b" ".join(b"/F%d %d 0 R" % (i, 5 + 3 * i) for i in range(count))
    objects = []
    program = _stream(deflated_zeros(size), b"/Filter /FlateDecode" + disguise)
    for i in range(count):
        first = 5 + 3 * i
        objects.append(
            b"<< /Type /Font /Subtype /TrueType /BaseFont /F%d /FirstChar 97 /LastChar 97 "
            b"/Widths [500] /FontDescriptor %d 0 R >>" % (i, first + 1)
        )
        objects.append(
            b"<< /Type /FontDescriptor /FontName /F%d /Flags 32 /FontBBox [0 0 1000 1000] "
            b"/ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 "
            b"/FontFile2 %d 0 R >>" % (i, first + 2)
        )
        objects.append(program)
    return _one_page(
        _page(b"4 0 R", b"/Font << " + fonts + b" >>"),
        _stream(b"BT 72 720 Td " + shows + b" ET", b""),
        *objects,
    )


def disguised_fonts_bomb(count: int = 8, size: int = 128 * MiB) -> bytes:
    """:func:`many_fonts_bomb` with font programs of 128 MiB that call themselves
    150-megabyte images (/Subtype /Image), which may decode to their declared size."""
    side = 7254  # 7254^2 x 3 bytes: just under 160 MiB declared
    return many_fonts_bomb(
        count,
        size,
        b" /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8"
        % (side, side),
    )


def decoy_bomb(size: int = GiB, count: int = 256) -> bytes:
    """:func:`repeated_stream_bomb` plus a harmless decoy copy of the page object, later
    in the file (inside an unused stream) where a naive reader would pick it: pdfium
    follows the cross-reference table to the real one."""
    refs = b" ".join([b"4 0 R"] * count)
    decoy = b"\n3 0 obj\n" + _page(b"6 0 R") + b"\nendobj\n"
    return _one_page(
        _page(b"[" + refs + b"]"),
        _stream(deflated_zeros(size // count)),
        _stream(decoy, b""),
        _stream(b"", b""),
    )


PASSWORD_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def rc4(key: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
    from cryptography.hazmat.primitives.ciphers import Cipher

    return Cipher(ARC4(key), mode=None).decryptor().update(data)


def encrypted_bomb(size: int = GiB) -> bytes:
    """:func:`content_bomb` encrypted (RC4 40-bit, owner password only, so it opens
    without a password): its stream is noise until decrypted."""
    import hashlib

    doc_id = b"0123456789abcdef"
    perms = -4
    owner = rc4(hashlib.md5(b"owner" + PASSWORD_PAD[:27]).digest()[:5], PASSWORD_PAD)
    key = hashlib.md5(
        PASSWORD_PAD + owner + (perms & 0xFFFFFFFF).to_bytes(4, "little") + doc_id
    ).digest()[:5]
    user = rc4(key, PASSWORD_PAD)
    object_key = hashlib.md5(key + (4).to_bytes(3, "little") + b"\x00\x00").digest()[:10]
    content = _stream(rc4(object_key, deflated_zeros(size)))
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>" % (
        owner.hex().encode(),
        user.hex().encode(),
        perms,
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        _page(b"4 0 R"),
        content,
        encrypt,
    ]
    pdf = _assemble(objects)
    hexid = doc_id.hex().encode()
    return pdf.replace(
        b"/Root 1 0 R >>", b"/Root 1 0 R /Encrypt 5 0 R /ID [<%s> <%s>] >>" % (hexid, hexid)
    )


SHAPES: dict[str, Callable[[], bytes]] = {
    "content": content_bomb,
    "many_streams": many_streams_bomb,
    "repeated_stream": repeated_stream_bomb,
    "image_data": image_data_bomb,
    "image_dimensions": image_dimensions_bomb,
    "form_xobject": form_bomb,
    "nested_filters": nested_filters_bomb,
    "object_stream": object_stream_bomb,
    "xref_stream": xref_stream_bomb,
    "inline_image": inline_image_bomb,
    "font": font_bomb,
    "lzw": lzw_bomb,
    "encrypted": encrypted_bomb,
    "text_operators": text_operators_bomb,
    "repeated_form": repeated_form_bomb,
    "decoy_page": decoy_bomb,
    "many_fonts": many_fonts_bomb,
    "disguised_fonts": disguised_fonts_bomb,
}


def scan_pdf(pages: int = 50, *, dpi: int = 300, seed: int = 3) -> bytes:
    """A legitimate ``pages``-page scanned A4 document at ``dpi``: noisy JPEG pages
    alternating with 1-bit CCITT G4 pages (what office scanners produce), plus one
    lossless FlateDecode gray page, each a full-page image.
    """
    import numpy as np

    from .pdfgen import ENGLISH_TEXT, text_image

    base = text_image(ENGLISH_TEXT, dpi=dpi)
    rng = np.random.default_rng(seed)
    noisy = np.asarray(base, dtype=np.int16) + rng.integers(-25, 25, (base.height, base.width))
    gray = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "L")
    jpeg = io.BytesIO()
    gray.save(jpeg, "JPEG", quality=75)
    bilevel = base.point(lambda v: 255 if v > 128 else 0).convert("1")
    g4 = io.BytesIO()
    bilevel.save(g4, "TIFF", compression="group4", tiffinfo={278: bilevel.height})
    ccitt = _tiff_strip(g4.getvalue())
    flate = zlib.compress(gray.tobytes(), 6)
    w, h = base.size
    width_pt, height_pt = w * 72 / dpi, h * 72 / dpi
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    images = [
        (jpeg.getvalue(), b"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode"),
        (
            ccitt,
            b"/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode "
            b"/DecodeParms << /K -1 /Columns %d /Rows %d /BlackIs1 true >>" % (w, h),
        ),
    ]
    for index in range(pages):
        data, entries = (
            (flate, b"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode")
            if index == 0
            else images[index % 2]
        )
        first = len(objects) + 1
        content = b"q %.3f 0 0 %.3f 0 0 cm /Im0 Do Q" % (width_pt, height_pt)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.3f %.3f] /Contents %d 0 R "
            b"/Resources << /XObject << /Im0 %d 0 R >> >> >>"
            % (width_pt, height_pt, first + 1, first + 2)
        )
        objects.append(_stream(content, b""))
        objects.append(
            _stream(
                data, b"/Type /XObject /Subtype /Image /Width %d /Height %d " % (w, h) + entries
            )
        )
        kids.append(b"%d 0 R" % first)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    return _assemble(objects)


def _tiff_strip(tiff: bytes) -> bytes:
    """The G4 data of a single-strip TIFF written by Pillow."""
    from PIL import TiffImagePlugin

    image = Image.open(io.BytesIO(tiff))
    assert isinstance(image, TiffImagePlugin.TiffImageFile)
    offsets = image.tag_v2[TiffImagePlugin.STRIPOFFSETS]
    counts = image.tag_v2[TiffImagePlugin.STRIPBYTECOUNTS]
    return b"".join(tiff[o : o + c] for o, c in zip(offsets, counts, strict=True))
