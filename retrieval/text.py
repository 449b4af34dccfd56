"""Text hygiene and the analyser shared by the index and the query (no Django imports).

``clean_text`` makes extracted text safe to store: no NUL or other control characters,
no lone surrogates or non-characters, no bidi overrides (the "Trojan source" trick),
NFC-composed. ``terms`` turns text into index terms, identically for documents and
queries, so an informally typed query meets formally written text:

Arabic: NFKC (presentation forms → letters), diacritics, Quranic marks and tatweel
removed; أ إ آ ٱ → ا, ؤ → و, ئ → ي, ة → ه, ى → ي, Persian ک/ی → ك/ي; Arabic-Indic
digits → 0-9; then a light stemmer after Larkey's *light10* (prefixes و, ال, وال, بال,
كال, فال, لل; suffixes ها ان ات ون ين يه ه ي and the pronoun clitics هم كم نا).

English (and any other Latin-script text): case-folded and stemmed with Snowball's
English (Porter 2) stemmer. Stop words of both languages are dropped on both sides.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

import snowballstemmer

# --- Hygiene ---------------------------------------------------------------------------
# C0/C1 controls except tab and newline, bidi embeddings/overrides/isolates, the BOM,
# lone surrogates and the non-characters U+FFFE/U+FFFF.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff]"
)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """Text that may be stored and shown: see the module docstring."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _UNSAFE.sub("", text)
    text = unicodedata.normalize("NFC", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# --- Normalisation ---------------------------------------------------------------------
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ٲ": "ا",
        "ٳ": "ا",
        "ؤ": "و",
        "ئ": "ي",
        "ة": "ه",
        "ى": "ي",
        "ی": "ي",
        "ک": "ك",
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
    }
)
# Words: letters, digits and the combining marks inside Arabic words.
WORD = re.compile(r"[\w\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]+")


def normalize(text: str) -> str:
    """Case- and form-folded text (no stemming); used for terms and phrase checks."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _INVISIBLE.sub("", text)
    text = _ARABIC_MARKS.sub("", text)
    return text.translate(_FOLD)


# --- Stop words (compared after normalisation, before stemming) -------------------------
_EN_STOP = """
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom whose why will with would you your yours yourself yourselves s t also
"""
_AR_STOP = """
في من على الى إلى عن ما ماذا متى كيف أين اين كم هل التي الذي الذين اللذان اللتان اللاتي
هذا هذه هذان ذلك تلك هؤلاء أولئك هو هي هم هن هما انا أنا نحن انت أنت كان كانت كانوا يكون تكون
ان أن إن لم لن لا و او أو ثم مع عند بين كل قد به بها له لها لهم منذ حتى اي أي أية اية ايه
التى الذى بعد قبل خلال حول ضد دون غير ذات ذو يا لقد وقد وفي وهو وهي ومن وما وكان وكانت
ب ل ك ف
"""
STOP_WORDS = frozenset(normalize(word) for word in (_EN_STOP + _AR_STOP).split())

# --- Stemming ------------------------------------------------------------------------
_english = snowballstemmer.stemmer("english")
_AR_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_AR_SUFFIXES = ("ها", "هم", "كم", "نا", "ان", "ات", "ون", "ين", "يه", "ه", "ي")
_ARABIC_LETTER = re.compile("[\u0621-\u064a]")


def stem_arabic(word: str) -> str:
    """Light stemming after Larkey's light10, on normalised text (ة already ه, ى ي)."""
    if len(word) > 3 and word.startswith("و"):
        word = word[1:]
    for prefix in _AR_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            word = word[len(prefix) :]
            break
    for suffix in _AR_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            word = word[: -len(suffix)]
    return word


@lru_cache(maxsize=200_000)
def _terms_of_word(surface: str) -> tuple[str, ...]:
    out = []
    for word in WORD.findall(normalize(surface)):
        if word in STOP_WORDS or word == "_" * len(word):
            continue
        if _ARABIC_LETTER.search(word):
            term = stem_arabic(word)
        elif word.isdigit():
            term = word
        elif len(word) < 2:
            continue
        else:
            term = _english.stemWord(word)
        out.append(term[:64])
    return tuple(out)


def terms(text: str) -> list[str]:
    """Index terms of ``text`` in order (repeats kept)."""
    out: list[str] = []
    for surface in WORD.findall(text):
        out.extend(_terms_of_word(surface))
    return out


def term_counts(text: str) -> Counter[str]:
    return Counter(terms(text))


def word_spans(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """``(start, end, terms)`` of each word of ``text`` (for snippets and highlights)."""
    return [(m.start(), m.end(), _terms_of_word(m.group())) for m in WORD.finditer(text)]


# --- Plain baseline (the benchmark's "no normalisation" column) ----------------------
def plain_terms(text: str) -> list[str]:
    """Lower-cased words only: what BM25 sees without this module's analysis."""
    return [w.lower() for w in re.findall(r"\w+", text)]
