"""Passages as the Retrieval page shows them: line by line, each line in its own
direction, Markdown emphasis rendered, the query's words marked.

A passage may mix Arabic and English lines; run into one left-to-right block, an Arabic
sentence and an English one read as one garbled line. Each line becomes its own
paragraph (``dir="auto"`` in the template), so each takes the direction of its own first
strong letter. Documents are often Markdown: ``**bold**``, ``*em*``, ``_em_`` and
``code`` are rendered, links show their text, and heading, list and quote markers at
the start of a line are dropped. Everything else is escaped.
"""

from __future__ import annotations

import re

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from retrieval.text import word_spans

# ``[text](url)`` shows its text; images ``![alt](url)`` their alt text.
LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
# Block markers at the start of a line: ``# ``, ``> ``, ``- ``, ``* ``, ``+ ``.
BLOCK_MARKER = re.compile(r"^\s*(?:#{1,6}\s+|>\s?|[-*+]\s+)")
# Inline runs, tried in this order; ``_`` only between non-word characters (snake_case stays).
INLINE = re.compile(
    r"(?P<code>`[^`\n]+`)"
    r"|\*\*(?P<strong>\S(?:.*?\S)?)\*\*"
    r"|(?<!\w)__(?P<strong2>\S(?:.*?\S)?)__(?!\w)"
    r"|(?<![\w*])\*(?P<em>[^\s*](?:[^*]*?[^\s*])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<em2>[^\s_](?:[^_]*?[^\s_])?)_(?![\w_])"
)
TAGS = {"strong": "strong", "strong2": "strong", "em": "em", "em2": "em"}


def highlight(text: str, wanted: set[str]) -> SafeString:
    """``text`` escaped, each word whose analysed terms meet ``wanted`` in ``<mark>``: the
    analyser is the index's, so أ/ا, ة/ه, diacritics and stems match as they do in search."""
    out, last = [], 0
    for start, end, word_terms in word_spans(text):
        if wanted.intersection(word_terms):
            out.append(escape(text[last:start]))
            out.append(format_html("<mark>{}</mark>", text[start:end]))
            last = end
    out.append(escape(text[last:]))
    return mark_safe("".join(out))  # every piece is escaped above


def inline(text: str, wanted: set[str]) -> SafeString:
    """One line: emphasis and code as HTML, the rest highlighted and escaped."""
    out, last = [], 0
    for match in INLINE.finditer(text):
        out.append(highlight(text[last : match.start()], wanted))
        kind = match.lastgroup
        inner = match.group(kind)
        if kind == "code":
            out.append(format_html("<code>{}</code>", inner[1:-1]))
        else:
            out.append(format_html("<{0}>{1}</{0}>", TAGS[kind], highlight(inner, wanted)))
        last = match.end()
    out.append(highlight(text[last:], wanted))
    return mark_safe("".join(out))  # every piece is escaped by highlight or format_html


def passage_lines(text: str, wanted: set[str]) -> list[SafeString]:
    """The passage's non-empty lines, each rendered for a ``<p dir="auto">`` of its own."""
    lines = []
    for raw in text.splitlines():
        line = BLOCK_MARKER.sub("", LINK.sub(r"\1", raw)).strip()
        if line:
            lines.append(inline(line, wanted))
    return lines
