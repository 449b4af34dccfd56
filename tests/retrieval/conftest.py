"""Retrieval fixtures: Office files made here with python-docx / python-pptx, and storage."""

from __future__ import annotations

import io

import pytest


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def make_docx(*items: tuple[str, str]) -> bytes:
    """``("h", text)`` heading, ``("p", text)`` paragraph, ``("break", "")`` page break,
    ``("section", "")`` a new-page section break."""
    from docx import Document
    from docx.enum.section import WD_SECTION

    doc = Document()
    for kind, text in items:
        if kind == "h":
            doc.add_heading(text, level=1)
        elif kind == "p":
            doc.add_paragraph(text)
        elif kind == "break":
            doc.add_page_break()
        elif kind == "section":
            doc.add_section(WD_SECTION.NEW_PAGE)
        elif kind == "continuous":
            doc.add_section(WD_SECTION.CONTINUOUS)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def make_pptx(slides: list[dict]) -> bytes:
    """Each slide: ``title``, ``body`` (list of lines), ``table`` (rows), ``notes``."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for spec in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
        if spec.get("title"):
            slide.shapes.title.text = spec["title"]
        if spec.get("body"):
            box = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(8), Inches(1))
            box.text_frame.text = "\n".join(spec["body"])
        if spec.get("table"):
            rows = spec["table"]
            shape = slide.shapes.add_table(
                len(rows), len(rows[0]), Inches(1), Inches(4), Inches(8), Inches(1)
            )
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    shape.table.cell(r, c).text = value
        if spec.get("notes"):
            slide.notes_slide.notes_text_frame.text = spec["notes"]
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


@pytest.fixture
def collection(alice):
    from retrieval import collections

    return collections.create_collection(alice, "alice's papers")
