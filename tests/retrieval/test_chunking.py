from __future__ import annotations

import random

from retrieval.chunking import MAX_WORDS, MIN_WORDS, chunk_pages


def words(n: int, word: str = "word") -> str:
    return " ".join(f"{word}{i}." if i % 12 == 11 else f"{word}{i}" for i in range(n))


def test_each_page_keeps_its_number_and_section_titles_carry_over():
    pages = [
        [("h", "Intro"), ("p", words(100))],
        [("p", words(100))],
        [("h", "Next"), ("p", words(50))],
    ]
    chunks = chunk_pages(pages, default_title="Doc")
    assert [(c.page_start, c.page_end, c.title) for c in chunks] == [
        (1, 1, "Intro"),
        (2, 2, "Intro"),
        (3, 3, "Next"),
    ]


def test_a_short_tail_joins_the_next_page_of_the_same_section():
    pages = [[("h", "A"), ("p", words(175)), ("p", words(10, "tail"))], [("p", words(60))]]
    chunks = chunk_pages(pages)
    assert [(c.page_start, c.page_end) for c in chunks] == [(1, 1), (1, 2)]
    assert chunks[1].text.startswith("tail0")


def test_text_before_any_heading_uses_the_document_title():
    assert chunk_pages([[("p", "hello")]], default_title="Report")[0].title == "Report"


def test_a_heading_alone_on_a_slide_is_still_findable():
    chunks = chunk_pages([[("h", "Thanks")]])
    assert [(c.title, c.text) for c in chunks] == [("Thanks", "Thanks")]


def test_invariants_hold_on_random_documents():
    rng = random.Random(3)
    for _ in range(200):
        pages = []
        for _ in range(rng.randint(1, 6)):
            page = []
            for _ in range(rng.randint(0, 5)):
                if rng.random() < 0.3:
                    page.append(("h", f"Section {rng.randint(1, 9)}"))
                else:
                    page.append(("p", words(rng.choice([3, 20, 45, 200, 900]))))
            pages.append(page)
        chunks = chunk_pages(pages, default_title="T")
        for chunk in chunks:
            assert 1 <= chunk.page_start <= chunk.page_end <= chunk.page_start + 1
            assert chunk.page_end <= len(pages)
            assert chunk.words <= MAX_WORDS
            if chunk.page_end > chunk.page_start:
                first_part = chunk.text.split("\n\n")[0]
                assert len(first_part.split()) < MIN_WORDS
        # Every word of every page lands in exactly one passage, in order.
        body = " ".join(t for page in pages for kind, t in page if kind == "p").split()
        passages = " ".join(c.text for c in chunks if c.text != c.title).split()
        assert passages == body
