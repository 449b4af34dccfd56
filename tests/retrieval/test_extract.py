from __future__ import annotations

import io
import zipfile

import pytest

from retrieval.extract import (
    ExtractionError,
    extract_docx,
    extract_markdown,
    extract_pptx,
    extract_text,
    pages_from_strings,
)
from tests.retrieval.conftest import make_docx, make_pptx


def test_docx_pages_split_on_page_breaks_and_headings_become_sections():
    data = make_docx(
        ("h", "Introduction"),
        ("p", "First page text."),
        ("break", ""),
        ("p", "Second page text."),
        ("h", "Method"),
        ("p", "Still the second page."),
    )
    pages = extract_docx(data)
    assert pages == [
        [("h", "Introduction"), ("p", "First page text.")],
        [("p", "Second page text."), ("h", "Method"), ("p", "Still the second page.")],
    ]


def test_docx_new_page_section_breaks_split_pages_but_continuous_ones_do_not():
    data = make_docx(
        ("p", "one"), ("section", ""), ("p", "two"), ("continuous", ""), ("p", "still two")
    )
    assert [[text for _, text in page] for page in extract_docx(data)] == [
        ["one"],
        ["two", "still two"],
    ]


def test_docx_without_breaks_is_one_page():
    pages = extract_docx(make_docx(("p", "alpha"), ("p", "beta")))
    assert pages == [[("p", "alpha"), ("p", "beta")]]


def test_pptx_one_page_per_slide_with_title_text_table_and_notes_in_order():
    data = make_pptx(
        [
            {
                "title": "Results",
                "body": ["Revenue grew", "Costs fell"],
                "table": [["Year", "Revenue"], ["2024", "12"]],
                "notes": "Mention the audit.",
            },
            {"title": "", "body": ["A slide without a title"]},
            {"title": "Thanks"},
        ]
    )
    pages = extract_pptx(data)
    assert pages[0] == [
        ("h", "Results"),
        ("p", "Revenue grew\nCosts fell"),
        ("p", "Year | Revenue\n2024 | 12"),
        ("p", "Mention the audit."),
    ]
    assert pages[1] == [("p", "A slide without a title")]
    assert pages[2] == [("h", "Thanks")]


def test_markdown_headings_become_sections_but_not_inside_code():
    text = "# Guide\n\nIntro.\n\nSetup\n-----\n\n```\n# not a heading\n```\n\n## End\nBye"
    assert extract_markdown(text.encode()) == [
        [
            ("h", "Guide"),
            ("p", "Intro."),
            ("h", "Setup"),
            ("p", "```\n# not a heading\n```"),
            ("h", "End"),
            ("p", "Bye"),
        ]
    ]


def test_text_must_be_valid_utf8():
    with pytest.raises(ExtractionError) as caught:
        extract_text("café".encode("latin-1"))
    assert caught.value.code == "invalid_utf8"


def test_nul_bytes_controls_and_bidi_overrides_are_stripped():
    pages = extract_text("safe\x00 text\x07 \u202eevil\u202c end\ufeff".encode())
    assert pages == [[("p", "safe text evil end")]]
    assert pages_from_strings(["a\x00b", "\x00"]) == [[("p", "ab")], []]


def test_docx_text_is_cleaned_too():
    pages = extract_docx(make_docx(("p", "over\u202eride\ufeff here")))
    assert pages == [[("p", "override here")]]


# --- Hostile archives ------------------------------------------------------------------------
def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_a_zip_bomb_is_refused():
    bomb = _zip({"word/document.xml": b"<a>" + b" " * (60 * 1024 * 1024) + b"</a>"})
    assert len(bomb) < 200_000
    with pytest.raises(ExtractionError) as caught:
        extract_docx(bomb)
    assert caught.value.code == "zip_bomb"


def test_a_member_inflating_past_its_declared_size_is_refused():
    data = bytearray(_zip({"word/document.xml": b"<w/>" * 50_000}))
    # Forge the central directory's uncompressed size (4 bytes at offset 24 of the
    # entry) down to 100 bytes, as a bomb that lies about its size would.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    with pytest.raises(ExtractionError) as caught:
        extract_docx(bytes(data))
    assert caught.value.code in {"zip_bomb", "corrupt"}


def test_a_corrupt_archive_is_refused():
    good = make_docx(("p", "hello"))
    for broken in (b"PK\x03\x04 not really a zip", good[: len(good) // 2], b"hello"):
        with pytest.raises(ExtractionError) as caught:
            extract_docx(broken)
        assert caught.value.code == "corrupt"


def test_external_entities_are_refused():
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>"
    )
    with pytest.raises(ExtractionError) as caught:
        extract_docx(_zip({"word/document.xml": xxe}))
    assert caught.value.code == "unsafe_xml"


def test_billion_laughs_is_refused():
    lol = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol">'
        + b"".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9)
        )
        + b"]><p:presentation xmlns:p='http://schemas.openxmlformats.org/presentationml/2006/main'>&j;</p:presentation>"
    )
    with pytest.raises(ExtractionError) as caught:
        extract_pptx(_zip({"ppt/presentation.xml": lol}))
    assert caught.value.code == "unsafe_xml"


def test_password_protected_office_files_are_refused():
    # Office saves an encrypted .docx as an OLE compound file holding EncryptedPackage.
    ole = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le")
    )
    with pytest.raises(ExtractionError) as caught:
        extract_docx(ole)
    assert caught.value.code == "encrypted"


def test_zip_members_with_the_encryption_flag_are_refused():
    data = bytearray(_zip({"word/document.xml": b"<w/>"}))
    for header in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.find(header)
        flag_at = at + (6 if header == b"PK\x03\x04" else 8)
        data[flag_at] |= 0x1
    with pytest.raises(ExtractionError) as caught:
        extract_docx(bytes(data))
    assert caught.value.code == "encrypted"


def test_a_docx_without_a_document_part_is_refused():
    with pytest.raises(ExtractionError):
        extract_docx(_zip({"hello.txt": b"hi"}))
