"""What every reader of uploaded files shares (no Django imports): pages and blocks,
the refusal (``ExtractionError``), the limits, and the guarded ZIP/XML reader.

A page is a list of blocks ``(kind, text)`` in reading order, ``kind`` being ``"h"`` (a
heading: it opens a section) or ``"p"`` (body text).

``SafeZip`` refuses an archive (``ExtractionError``, a 400) that is an OLE container
(what Office writes for a password-protected file), is not a ZIP, has encrypted
members, too many members, declares more than ``MAX_UNPACKED_BYTES`` in total or an
implausible compression ratio, or has a part that inflates past its declared size.
Its XML is read through defusedxml (DTDs, entity declarations and external
references are refused, never expanded) as a stream of events, in chunks, so that a
part of millions of elements never becomes one tree in memory: ``stream`` counts the
elements (``MAX_XML_ELEMENTS`` per part) and ``tree`` builds a small part whole
(``MAX_TREE_ELEMENTS``).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

Block = tuple[str, str]
Page = list[Block]

MAX_MEMBERS = 5_000
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_PART_BYTES = 64 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed; real Office XML stays well under 100
MAX_XML_ELEMENTS = 3_000_000  # in one part (~100 per paragraph of real Word output)
MAX_TREE_ELEMENTS = 200_000  # a part read whole: a slide, styles, relationships
MAX_UNIT_ELEMENTS = 100_000  # one paragraph or one table row
MAX_PARAGRAPHS = 250_000  # in one document, empty ones included
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
CHUNK = 64 * 1024

REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
TOO_LARGE = 413  # the refusals that are about size, not about a broken file


@dataclass
class ExtractionError(Exception):
    """The file cannot be read; ``message`` is safe to show to the uploader; ``status``
    is 413 for a file over a size limit, 400 otherwise."""

    code: str
    message: str
    status: int = 400

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Limits:
    """The limits every format shares (``RETRIEVAL_MAX_*``; these are the defaults)."""

    max_pages: int = 2000
    max_page_chars: int = 200_000
    max_chars: int = 20_000_000  # the whole document's text


def too_complex(what: str) -> ExtractionError:
    return ExtractionError(
        "too_complex", f"The document is too complex to read: {what}.", status=TOO_LARGE
    )


class _BoundedPart(io.RawIOBase):
    """A ZIP member that may not inflate past its declared size (never trusted)."""

    def __init__(self, member, declared: int) -> None:
        self.member, self.left = member, declared

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size is None or size < 0 else size
        try:
            data = self.member.read(min(size, self.left + 1))
        except Exception:  # zlib.error, BadZipFile, EOFError… from a forged stream
            raise ExtractionError("corrupt", "The archive is damaged.") from None
        self.left -= len(data)
        if self.left < 0:
            raise ExtractionError("zip_bomb", "An archive member inflates past its size.")
        return data


class SafeZip:
    """Read members of an Office archive with size, ratio and encryption checks.

    ``pages``: a pattern of the parts that are pages (a deck's slides), so that a file
    with more than ``max_pages`` of them is refused for that, before its member count."""

    def __init__(
        self, data: bytes, *, pages: re.Pattern | None = None, max_pages: int | None = None
    ) -> None:
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
        if pages is not None and max_pages is not None:
            count = sum(1 for info in infos if pages.fullmatch(info.filename))
            if count > max_pages:
                raise ExtractionError(
                    "too_many_pages",
                    f"The presentation has {count} slides; the limit is {max_pages}.",
                    status=TOO_LARGE,
                )
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

    def stream(self, name: str) -> Iterator[tuple[str, Element]]:
        """``("start" | "end", element)`` events of the part, read in chunks. Children
        stay attached to their parent until the caller removes them."""
        try:
            info = self.zip.getinfo(name)
            member = self.zip.open(info)
        except KeyError:
            raise ExtractionError("corrupt", f"The document has no part {name}.") from None
        except Exception:
            raise ExtractionError("corrupt", "The archive is damaged.") from None
        elements = 0
        with member:
            events = iterparse(
                _BoundedPart(member, info.file_size),
                events=("start", "end"),
                forbid_dtd=True,
                forbid_entities=True,
                forbid_external=True,
            )
            try:
                for event, element in events:
                    if event == "start":
                        elements += 1
                        if elements > MAX_XML_ELEMENTS:
                            raise too_complex(f"{name} has more than {MAX_XML_ELEMENTS:,} elements")
                    yield event, element
            except DefusedXmlException:
                raise ExtractionError(
                    "unsafe_xml",
                    "The document's XML declares a DTD or entities (XXE / entity expansion); "
                    "refused.",
                ) from None
            except (ParseError, ValueError):
                raise ExtractionError(
                    "corrupt", f"The document's XML ({name}) is damaged."
                ) from None

    def tree(self, name: str) -> Element:
        """A small part, whole (at most ``MAX_TREE_ELEMENTS`` elements)."""
        root = None
        count = 0
        for event, element in self.stream(name):
            if event == "start":
                count += 1
                if count > MAX_TREE_ELEMENTS:
                    raise too_complex(f"{name} has more than {MAX_TREE_ELEMENTS:,} elements")
                root = element if root is None else root
        assert root is not None  # a parse without a root element raised ParseError
        return root

    def relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """``{rId: (type, target part)}`` of ``part``."""
        folder, base = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        if rels_name not in self.names:
            return {}
        out = {}
        for rel in self.tree(rels_name).iter(f"{REL}Relationship"):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                continue
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            out[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(path))
        return out
