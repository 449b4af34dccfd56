"""Text hygiene and the analyser shared by the index and the query (no Django imports).

``clean_text`` makes extracted text safe to store: no NUL or other control characters,
no lone surrogates or non-characters, no bidi overrides (the "Trojan source" trick),
NFC-composed. ``terms`` turns text into index terms, identically for documents and
queries, so an informally typed query meets formally written text:

Arabic: NFKC (presentation forms → letters), diacritics, Quranic marks and tatweel
removed; أ إ آ ٱ → ا, ؤ → و, ئ → ي, ة → ه, ى → ي, Persian ک/ی → ك/ي; Arabic-Indic
digits → 0-9; then a light stemmer after Larkey's *light10* (prefixes و, ال, وال, بال,
كال, فال, لل; suffixes ها ان ات ون ين يه ه ي and the pronoun clitics هم كم نا) that
never leaves a stem under ``MIN_STEM`` (3) letters, nor under 4 for the dual ان: حاكم,
سكان, القرآن, لبنان keep their letters instead of colliding with حا, سك, قر, لبن. A stem can still fall on another word
(سليمان → سليم), so the index keeps two more kinds of term (``index_terms``):

* the word's exact form (after the article), marked with ``EXACT``, whenever the stemmer
  cut a suffix: a query for سليمان ranks pages with سليمان above pages with سليم;
* for a word of 5+ letters that starts with a bare ب / ل / ك ("with", "for", "like"),
  the stem of the rest (لسكان → سكان); whether the letter is a prefix (بكتاب) or the
  word's own (برنامج) cannot be told from the word alone, so this is a second term
  beside the word's own stem, never instead of it.

The query weighs these second terms below its stems (``retrieval.search``); ``terms``
(snippets, highlights, proximity, direct hits) gives the stems only. Joined question
words (ماهي، ماهو، بما، لما، ...) are stop words.

``ANALYSER_VERSION`` names this analysis; postings written by an older version are
rewritten by ``retrieval.reanalysis``.

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
ماهي ماهو ماهى ماهم ماهن ماهما بما لما مما عما فيما كما ممن عمن لمن بمن فمن فما لماذا
بماذا ولماذا ومتى وكيف واين وأين وكم وهل فهل اذا إذا عندما حيث هناك كذلك ايضا أيضا
"""
STOP_WORDS = frozenset(normalize(word) for word in (_EN_STOP + _AR_STOP).split())

# Bumped whenever ``index_terms`` may give other terms for the same text: postings
# written by an older version are rewritten (retrieval.reanalysis).
ANALYSER_VERSION = 2

# --- Stemming ------------------------------------------------------------------------
_english = snowballstemmer.stemmer("english")
_AR_ARTICLES = ("وال", "بال", "كال", "فال", "لل", "ال")
_AR_BARE = ("ب", "ل", "ك")
_AR_SUFFIXES = ("ها", "هم", "كم", "نا", "ان", "ات", "ون", "ين", "يه", "ه", "ي")
MIN_STEM = 3  # a stem keeps at least this many letters (سكان stays, not سك)
# ...and 4 when the suffix is the dual ان, which ends many names (لبنان, ايران, عمان).
_AR_SUFFIX_MIN_STEM = {"ان": 4}
_ARABIC_LETTER = re.compile("[\u0621-\u064a]")
# An index term for a word's exact form (after the article) is marked so that it can
# never equal a stem: the word characters never include it.
EXACT = "="


def strip_article(word: str) -> str:
    """The word without و and the article with its joined prepositions (وال بال كال
    فال لل ال)."""
    if len(word) > 3 and word.startswith("و"):
        word = word[1:]
    for prefix in _AR_ARTICLES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return word[len(prefix) :]
    return word


def _strip_suffixes(word: str) -> str:
    for suffix in _AR_SUFFIXES:
        least = _AR_SUFFIX_MIN_STEM.get(suffix, MIN_STEM)
        if word.endswith(suffix) and len(word) - len(suffix) >= least:
            word = word[: -len(suffix)]
    return word


def stem_arabic(word: str) -> str:
    """Light stemming after Larkey's light10, on normalised text (ة already ه, ى ي),
    that never leaves fewer than ``MIN_STEM`` letters."""
    return _strip_suffixes(strip_article(word))


def bare_prefix_stem(word: str) -> str:
    """The stem of the word without a bare ب / ل / ك ("with", "for", "like": لسكان →
    سكان), or "" when it has none. Only for words of 5+ letters without the article;
    whether the letter is a prefix (بكتاب) or the word's own (برنامج) cannot be told
    from the word alone, so this is a second term beside the word's own stem."""
    bare = strip_article(word)
    if bare != word or len(word) < 5 or not word.startswith(_AR_BARE):
        return ""
    return _strip_suffixes(word[1:])


@lru_cache(maxsize=200_000)
def _analyse_word(surface: str) -> tuple[tuple[str, str, str], ...]:
    """``(term, exact form term or "", bare-prefix term or "")`` for each word."""
    out = []
    for word in WORD.findall(normalize(surface)):
        if word in STOP_WORDS or word == "_" * len(word):
            continue
        exact = alias = ""
        if _ARABIC_LETTER.search(word):
            term = stem_arabic(word)
            bare = strip_article(word)
            if bare != term:  # the stemmer cut a suffix: keep the exact form too
                exact = (EXACT + bare)[:64]
            alias = bare_prefix_stem(word)[:64]
            if alias in STOP_WORDS or alias == term:
                alias = ""
        elif word.isdigit():
            term = word
        elif len(word) < 2:
            continue
        else:
            term = _english.stemWord(word)
        out.append((term[:64], exact, alias))
    return tuple(out)


def _terms_of_word(surface: str) -> tuple[str, ...]:
    return tuple(term for term, _, _ in _analyse_word(surface))


def terms(text: str) -> list[str]:
    """Index terms of ``text`` in order (repeats kept); exact forms are not among them."""
    out: list[str] = []
    for surface in WORD.findall(text):
        out.extend(_terms_of_word(surface))
    return out


def rewrite_query(text: str) -> str:
    """A search query without its question and stop words, as the analyser drops them
    (English and Arabic, joined forms such as ماهي and بما included): "What is the
    capital of Egypt?" → "capital Egypt". No model is asked. A query made only of such
    words is kept as written."""
    kept = [m.group() for m in WORD.finditer(text) if normalize(m.group()) not in STOP_WORDS]
    return " ".join(kept) or text


def analysed_words(text: str) -> list[tuple[str, str, str]]:
    """``(term, exact form term or "", bare-prefix term or "")`` of each word, in order."""
    out: list[tuple[str, str, str]] = []
    for surface in WORD.findall(text):
        out.extend(_analyse_word(surface))
    return out


def is_exact(term: str) -> bool:
    return term.startswith(EXACT)


def index_terms(text: str) -> tuple[Counter[str], int]:
    """What the index stores for ``text``: its terms, exact-form and bare-prefix terms
    (counted), and its length in words (BM25's document length: the terms only)."""
    counts: Counter[str] = Counter()
    length = 0
    for surface in WORD.findall(text):
        for term, exact, alias in _analyse_word(surface):
            counts[term] += 1
            length += 1
            if exact:
                counts[exact] += 1
            if alias:
                counts[alias] += 1
    return counts, length


def word_spans(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """``(start, end, terms)`` of each word of ``text`` (for snippets and highlights)."""
    return [(m.start(), m.end(), _terms_of_word(m.group())) for m in WORD.finditer(text)]


# --- Plain baseline (the benchmark's "no normalisation" column) ----------------------
def plain_terms(text: str) -> list[str]:
    """Lower-cased words only: what BM25 sees without this module's analysis."""
    return [w.lower() for w in re.findall(r"\w+", text)]
