"""Passages on the Retrieval page: a line per paragraph (each in its own direction),
Markdown emphasis rendered, nothing else trusted."""

from __future__ import annotations

from retrieval.display import passage_lines
from retrieval.text import terms

AR = "تقع مدينة الإسكندرية على ساحل البحر."
EN = "The lighthouse guided ships."


def test_each_line_of_a_mixed_passage_is_its_own_paragraph():
    lines = passage_lines(f"{AR}\n{EN}\n\n  \n{AR}", set())
    assert lines == [AR, EN, AR]


def test_markdown_emphasis_is_rendered_and_markers_dropped():
    text = "# Harbour\n- **Bold** and *em* and _also em_ and `code`\n> [the map](http://x/y)"
    assert passage_lines(text, set()) == [
        "Harbour",
        "<strong>Bold</strong> and <em>em</em> and <em>also em</em> and <code>code</code>",
        "the map",
    ]


def test_words_inside_names_and_arithmetic_are_left_alone():
    assert passage_lines("snake_case_name and 2*3*4 and a * b", set()) == [
        "snake_case_name and 2*3*4 and a * b"
    ]


def test_the_query_s_words_are_marked_inside_emphasis_too():
    [line] = passage_lines("**The lighthouse** guided ships", set(terms("lighthouse ships")))
    assert line == "<strong>The <mark>lighthouse</mark></strong> guided <mark>ships</mark>"


def test_html_in_a_passage_stays_text():
    [line] = passage_lines('**<img src=x onerror="alert(1)">** <b>hi</b>', set())
    assert line == (
        "<strong>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</strong> &lt;b&gt;hi&lt;/b&gt;"
    )
