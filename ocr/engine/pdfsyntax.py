"""PDF syntax for :mod:`ocr.engine.limits`: objects, stream decoders and ciphers.

A small, defensive reader of raw PDF bytes: :func:`parse` reads one object (dictionaries,
arrays, names, numbers, strings, references) and raises :class:`Malformed` on anything
else; the decoders (:func:`inflate`, :func:`lzw`, :func:`run_length`, :func:`ascii_hex`,
:func:`ascii85`) turn an iterator of chunks into an iterator of chunks of at most
:data:`CHUNK` bytes each, so a caller can count and stop without holding a whole stream.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Iterator

CHUNK = 1 << 20  # the largest piece of decoded data held at once

# --------------------------------------------------------------------------- parsing


class Ref(tuple):
    __slots__ = ()

    def __new__(cls, num: int, gen: int) -> Ref:
        return tuple.__new__(cls, (num, gen))


class Name(str):
    __slots__ = ()


class Stream:
    """A stream object: its dictionary and where its raw data lies in the file."""

    __slots__ = ("dict", "end", "gen", "num", "start")

    def __init__(self, d: dict, start: int, end: int, num: int, gen: int) -> None:
        self.dict, self.start, self.end, self.num, self.gen = d, start, end, num, gen


class Malformed(Exception):
    """Not PDF syntax this reader follows (the caller skips the object)."""


_ws = re.compile(rb"(?:[ \t\r\n\f\x00]+|%[^\r\n]*)+")
_token = re.compile(rb"[^ \t\r\n\f\x00()<>\[\]{}/%]+")
_name = re.compile(rb"/([^ \t\r\n\f\x00()<>\[\]{}/%]*)")
_int = re.compile(rb"[+-]?\d+$")
_ref = re.compile(rb"(\d+)[ \t\r\n\f\x00]+(\d+)[ \t\r\n\f\x00]+R(?![^ \t\r\n\f\x00()<>\[\]{}/%])")
_hexname = re.compile(rb"#([0-9A-Fa-f]{2})")
OBJ_KEYWORD = re.compile(rb"obj(?![^ \t\r\n\f\x00()<>\[\]{}/%])")
OBJ_NUMBERS = re.compile(rb"(?<![0-9])(\d{1,10})[ \t\r\n\f\x00]+(\d{1,5})[ \t\r\n\f\x00]+$")
STREAM_KEYWORD = re.compile(rb"[ \t\r\n\f\x00]*stream(?:\r\n|\n|\r)?")
ENDSTREAM = re.compile(rb"endstream")
MAX_DEPTH = 64


def skip_ws(data: bytes, pos: int) -> int:
    m = _ws.match(data, pos)
    return m.end() if m else pos


class TooLarge(Exception):
    """The caller's budget of values ran out (a file built to exhaust the parser)."""


def parse(
    data: bytes, pos: int, budget: list[int] | None = None, depth: int = 0
) -> tuple[object, int]:
    """Parse one PDF object at ``pos``; return it and the position after it.

    ``budget[0]`` is decremented for every value read; :class:`TooLarge` when it runs out.
    """
    if depth > MAX_DEPTH:
        raise Malformed("too deep")
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            raise TooLarge
    pos = skip_ws(data, pos)
    if pos >= len(data):
        raise Malformed("eof")
    c = data[pos]
    if c == 0x2F:  # /
        m = _name.match(data, pos)
        raw = m.group(1)
        if b"#" in raw:
            raw = _hexname.sub(lambda h: bytes([int(h.group(1), 16)]), raw)
        return Name(raw.decode("latin-1")), m.end()
    if data.startswith(b"<<", pos):
        out: dict = {}
        pos += 2
        while True:
            pos = skip_ws(data, pos)
            if data.startswith(b">>", pos):
                return out, pos + 2
            m = _name.match(data, pos)  # keys are names: read them here, it is faster
            if m is None:
                raise Malformed("dict key")
            key = m.group(1)
            if b"#" in key:
                key = _hexname.sub(lambda h: bytes([int(h.group(1), 16)]), key)
            value, pos = parse(data, m.end(), budget, depth + 1)
            out[key.decode("latin-1")] = value
    if c == 0x5B:  # [
        items: list = []
        pos += 1
        while True:
            pos = skip_ws(data, pos)
            if pos >= len(data):
                raise Malformed("eof in array")
            if data[pos] == 0x5D:
                return items, pos + 1
            item, pos = parse(data, pos, budget, depth + 1)
            items.append(item)
    if c == 0x28 or c == 0x3C:  # (literal) or <hex> string
        return read_string(data, pos)
    m = _ref.match(data, pos)
    if m:
        return Ref(int(m.group(1)), int(m.group(2))), m.end()
    m = _token.match(data, pos)
    if not m:
        raise Malformed(f"unexpected byte {c}")
    tok = m.group(0)
    if _int.match(tok):
        return int(tok), m.end()
    if tok in (b"true", b"false"):
        return tok == b"true", m.end()
    try:
        return float(tok), m.end()
    except ValueError:
        return None, m.end()  # null, or a keyword where a value was expected


_string_special = re.compile(rb"[()\\]")


def skip_string(data: bytes, pos: int) -> int:
    """The position after the literal string starting at ``pos`` (nested parentheses)."""
    depth, i = 0, pos
    while (m := _string_special.search(data, i)) is not None:
        c, i = m.group(0), m.end()
        if c == b"\\":
            i += 1
        elif c == b"(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return i
    raise Malformed("unterminated string")


def read_string(data: bytes, pos: int) -> tuple[bytes, int]:
    if data.startswith(b"(", pos):
        end = skip_string(data, pos)
        body = data[pos + 1 : end - 1]

        def unescape(m: re.Match[bytes]) -> bytes:
            s = m.group(1)
            if s in _ESCAPES:
                return _ESCAPES[s]
            if s[:1].isdigit():
                return bytes([int(s, 8) & 0xFF])
            if s in (b"\r\n", b"\r", b"\n"):
                return b""
            return s

        return _literal_escape.sub(unescape, body), end
    end = data.find(b">", pos)
    if end < 0:
        raise Malformed("hex string")
    digits = _not_hex.sub(b"", data[pos + 1 : end])
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode()), end + 1


_literal_escape = re.compile(rb"\\([nrtbf()\\]|[0-7]{1,3}|\r\n|\r|\n)")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


# --------------------------------------------------------------------------- decoding


def pieces(raw: bytes | memoryview) -> Iterator[bytes]:
    for i in range(0, len(raw), CHUNK):
        yield bytes(raw[i : i + CHUNK])


def inflate(chunks: Iterator[bytes]) -> Iterator[bytes]:
    d = zlib.decompressobj()
    try:
        for chunk in chunks:
            data = chunk
            while True:
                out = d.decompress(data, CHUNK)
                if out:
                    yield out
                data = d.unconsumed_tail
                if d.eof or (not data and len(out) < CHUNK):
                    break
            if d.eof:
                return
    except zlib.error:
        return  # pdfium keeps what it could inflate; so do we


def lzw(chunks: Iterator[bytes], early: int = 1) -> Iterator[bytes]:
    table = [bytes([i]) for i in range(256)] + [b"", b""]
    width, buf, bits, prev, out = 9, 0, 0, b"", bytearray()
    for chunk in chunks:
        for byte in chunk:
            buf = (buf << 8) | byte
            bits += 8
            while bits >= width:
                bits -= width
                code = (buf >> bits) & ((1 << width) - 1)
                buf &= (1 << bits) - 1
                if code == 256:
                    del table[258:]
                    width, prev = 9, b""
                    continue
                if code == 257:
                    if out:
                        yield bytes(out)
                    return
                if code < len(table):
                    entry = table[code]
                    if prev:
                        table.append(prev + entry[:1])
                elif prev:
                    entry = prev + prev[:1]
                    table.append(entry)
                else:
                    return
                out += entry
                prev = entry
                if len(table) + early >= (1 << width) and width < 12:
                    width += 1
                if len(out) >= CHUNK:
                    yield bytes(out)
                    out.clear()
    if out:
        yield bytes(out)


def run_length(chunks: Iterator[bytes]) -> Iterator[bytes]:
    out, pending = bytearray(), b""
    for chunk in chunks:
        data, i = pending + chunk, 0
        while i < len(data):
            n = data[i]
            if n == 128:
                if out:
                    yield bytes(out)
                return
            if n < 128:
                if i + n + 2 > len(data):
                    break
                out += data[i + 1 : i + n + 2]
                i += n + 2
            else:
                if i + 2 > len(data):
                    break
                out += data[i + 1 : i + 2] * (257 - n)
                i += 2
            if len(out) >= CHUNK:
                yield bytes(out)
                out.clear()
        pending = data[i:]
    if out:
        yield bytes(out)


_not_hex = re.compile(rb"[^0-9A-Fa-f]")


def ascii_hex(chunks: Iterator[bytes]) -> Iterator[bytes]:
    odd = b""
    for chunk in chunks:
        end = chunk.find(b">")
        digits = odd + _not_hex.sub(b"", chunk if end < 0 else chunk[:end])
        odd = digits[len(digits) & ~1 :]
        yield bytes.fromhex(digits[: len(digits) & ~1].decode())
        if end >= 0:
            break
    if odd:
        yield bytes.fromhex((odd + b"0").decode())


_not_a85 = re.compile(rb"[^!-uz]")


def ascii85(chunks: Iterator[bytes]) -> Iterator[bytes]:

    rest = b""
    for chunk in chunks:
        end = chunk.find(b"~")
        text = rest + _not_a85.sub(b"", chunk if end < 0 else chunk[:end]).replace(b"z", b"!!!!!")
        whole = len(text) - len(text) % 5
        rest = text[whole:]
        try:
            yield base64.a85decode(text[:whole])
        except ValueError:
            return
        if end >= 0:
            break
    if len(rest) > 1:
        try:
            yield base64.a85decode(rest + b"u" * (5 - len(rest)))[: len(rest) - 1]
        except ValueError:
            return


# --------------------------------------------------------------------------- ciphers

PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def rc4(key: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
    from cryptography.hazmat.primitives.ciphers import Cipher

    return Cipher(ARC4(key), mode=None).decryptor().update(data)


def aes_cbc(
    key: bytes, data: bytes, iv: bytes | None = None, unpad: bool = True, encrypt: bool = False
) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if iv is None:
        if len(data) < 32:
            return b""
        iv, data = data[:16], data[16:]
    data = data[: len(data) - len(data) % 16]
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    out = (cipher.encryptor() if encrypt else cipher.decryptor()).update(data)
    if unpad and out and 1 <= out[-1] <= 16:
        out = out[: -out[-1]]
    return out


def hash_r6(password: bytes, salt: bytes, udata: bytes) -> bytes:
    k = hashlib.sha256(password + salt + udata).digest()
    i = 0
    while True:
        k1 = (password + k + udata) * 64
        e = aes_cbc(k[:16], k1, iv=k[16:32], unpad=False, encrypt=True)
        mod = sum(e[:16]) % 3
        k = (hashlib.sha256, hashlib.sha384, hashlib.sha512)[mod](e).digest()
        i += 1
        if i >= 64 and e[-1] <= i - 32:
            return k[:32]
