"""Text helpers: normalisation, script-based language detection, Arabic punctuation."""

from __future__ import annotations

import re
import unicodedata

# Arabic letters (base block + supplement + presentation forms before NFKC).
ARABIC_LETTER_RE = re.compile(
    r"[\u0620-\u064A\u066E-\u06D3\u06D5\u06FA-\u06FC\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFC]"
)
LATIN_LETTER_RE = re.compile(r"[A-Za-z\u00C0-\u024F]")
_HSPACE_RE = re.compile(r"[^\S\n]+")
# Bidi control marks (LRM, RLM, embeddings, isolates): Tesseract wraps Latin words in
# right-to-left lines with RLM; stored text is logical order, so they only add noise.
_BIDI_RE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ARABIC_BEFORE = r"(?<=[\u0620-\u064A\u066E-\u06D3])"
_ARABIC_PUNCT = [
    (re.compile(_ARABIC_BEFORE + r"\s*,(?!\d)"), "،"),
    (re.compile(_ARABIC_BEFORE + r"\s*;"), "؛"),
    (re.compile(_ARABIC_BEFORE + r"\s*\?"), "؟"),
]

# Arabic-Indic and Persian digits, Arabic decimal/thousands separators and percent sign
# -> their ASCII forms (``?digits=latin``).
_LATIN_DIGITS = str.maketrans(
    {
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
        "٫": ".",
        "٬": ",",
        "٪": "%",
    }
)

MIXED_MIN_LETTERS = 10
MIXED_MIN_SHARE = 0.05


def normalize_text(text: str) -> str:
    """NFKC (folds Arabic presentation forms), drop tatweel and bidi marks, tidy spaces.

    Line breaks are kept; each line is stripped and runs of spaces/tabs collapsed.
    """
    text = unicodedata.normalize("NFKC", text).replace("\u0640", "")
    text = _BIDI_RE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = (_HSPACE_RE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def latin_digits(text: str) -> str:
    """``text`` with every digit in 0-9 and the Arabic separators ٫ ٬ ٪ as ``. , %``.

    ``١٬٢٥٠٫٧٥`` → ``1,250.75``, ``۱۴۰۳/۰۶/۱۵`` → ``1403/06/15``; nothing else changes.
    """
    return text.translate(_LATIN_DIGITS)


def fix_arabic_punctuation(line: str) -> str:
    """Latin , ; ? right after an Arabic letter become Arabic ، ؛ ؟.

    Tesseract's Arabic model emits the Latin forms; Arabic prose uses the Arabic ones.
    Commas between digits (``1,000``) are left alone.
    """
    if not ARABIC_LETTER_RE.search(line):
        return line
    for pattern, replacement in _ARABIC_PUNCT:
        line = pattern.sub(replacement, line)
    return line


def detect_language(text: str) -> str:
    """``"ara"``, ``"eng"`` or ``"ara+eng"`` from the letters in ``text``.

    A script counts when it has at least :data:`MIXED_MIN_LETTERS` letters and
    :data:`MIXED_MIN_SHARE` of all letters; with both (or neither) the answer is
    ``"ara+eng"``.
    """
    arabic = len(ARABIC_LETTER_RE.findall(text))
    latin = len(LATIN_LETTER_RE.findall(text))
    total = arabic + latin
    if total == 0:
        return "ara+eng"
    has_ara = arabic >= MIXED_MIN_LETTERS and arabic >= MIXED_MIN_SHARE * total
    has_eng = latin >= MIXED_MIN_LETTERS and latin >= MIXED_MIN_SHARE * total
    if has_ara and not has_eng:
        return "ara"
    if has_eng and not has_ara:
        return "eng"
    if has_ara and has_eng:
        return "ara+eng"
    return "ara" if arabic > latin else "eng"
