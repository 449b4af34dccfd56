"""The Arabic analyser, before and after, against normalised BM25, in one run.

Usage::

    .venv/bin/python bench/arabic_analyser_bench.py [--squad FILE ...] [--limit N]

Each question set becomes a collection (a document per article, a page per
paragraph, ingested with ``ingest.ingest_pages`` on a fresh SQLite file, the indexing
task inline), and every question is asked through ``querying.query`` (top 10), the
real ranking path: BM25 in SQL, proximity bonus, spelling stand-ins, second terms. A hit
is the right document *and* page. Each set is measured twice in the same run:

* **analyser 1** — the analyser as it was before version 2 (light10 without a minimum
  stem, no second terms, the shorter stop-word list, no respelling of 4-letter words),
  kept here verbatim so the comparison stays runnable;
* **analyser 2** — ``retrieval.text`` as it is;

and beside them two baselines over the same passages, outside Portico: **normalised
BM25** (textbook BM25 over ``retrieval.text.normalize``d words: letters folded,
diacritics gone, no stemming, no stop words) and **plain BM25** (lower-cased words).

Question sets: XQuAD (``../shared/data/xquad``, CC BY-SA 4.0: Arabic, Arabic typed
informally, English, and both languages in one collection) and any SQuAD-format file
given with ``--squad`` (``{"data": [{"title", "paragraphs": [{"context", "qas":
[{"question"}]}]}]}``), e.g. ARCD (Arabic Reading Comprehension Dataset, Mozannar et
al. 2019, MIT), whose questions were written by native speakers on Arabic Wikipedia.
No such natively written set ships in a package on the registries this project can
reach, so none is bundled; without ``--squad`` only XQuAD (translated questions) runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter, defaultdict
from functools import cache, lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import retrieval_bench as rb  # noqa: E402  (its Django setup, data path and metrics)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--squad", action="append", default=[], metavar="FILE", help="a SQuAD-format set"
    )
    parser.add_argument("--limit", type=int, help="at most this many questions per set")
    parser.add_argument("--skip-xquad", action="store_true")
    parser.add_argument(
        "--latency-only", action="store_true", help="only the two analysers' query time"
    )
    return parser.parse_args()


# --- Analyser 1, as it was --------------------------------------------------------------
_V1_AR_STOP = """
في من على الى إلى عن ما ماذا متى كيف أين اين كم هل التي الذي الذين اللذان اللتان اللاتي
هذا هذه هذان ذلك تلك هؤلاء أولئك هو هي هم هن هما انا أنا نحن انت أنت كان كانت كانوا يكون تكون
ان أن إن لم لن لا و او أو ثم مع عند بين كل قد به بها له لها لهم منذ حتى اي أي أية اية ايه
التى الذى بعد قبل خلال حول ضد دون غير ذات ذو يا لقد وقد وفي وهو وهي ومن وما وكان وكانت
ب ل ك ف
"""
_V1_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_V1_SUFFIXES = ("ها", "هم", "كم", "نا", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


def _v1_stem(word: str) -> str:
    if len(word) > 3 and word.startswith("و"):
        word = word[1:]
    for prefix in _V1_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            word = word[len(prefix) :]
            break
    for suffix in _V1_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            word = word[: -len(suffix)]
    return word


@cache
def analyser_1():
    """``retrieval.text._analyse_word`` as analyser 1 gave it (no second terms)."""
    from retrieval import text

    stop = frozenset(text.normalize(w) for w in (text._EN_STOP + _V1_AR_STOP).split())

    @lru_cache(maxsize=200_000)
    def analyse(surface: str) -> tuple[tuple[str, str, str], ...]:
        out = []
        for word in text.WORD.findall(text.normalize(surface)):
            if word in stop or word == "_" * len(word):
                continue
            if text._ARABIC_LETTER.search(word):
                term = _v1_stem(word)
            elif word.isdigit():
                term = word
            elif len(word) < 2:
                continue
            else:
                term = text._english.stemWord(word)
            out.append((term[:64], "", ""))
        return tuple(out)

    return analyse


class Analyser:
    """Switch ``retrieval.text`` (and the spelling lookup) to an analyser and back."""

    def __init__(self, version: int) -> None:
        self.version = version

    def __enter__(self):
        from retrieval import spelling, text

        self.saved = (text._analyse_word, spelling.SHORT_LENGTH)
        if self.version == 1:
            text._analyse_word = analyser_1()
            spelling.SHORT_LENGTH = spelling.MIN_LENGTH
        return self

    def __exit__(self, *exc) -> None:
        from retrieval import spelling, text

        text._analyse_word, spelling.SHORT_LENGTH = self.saved


# --- Baselines ----------------------------------------------------------------------------
class NormalisedBM25(rb.PlainBM25):
    """Textbook BM25 over normalised words (``retrieval.text.normalize``), unstemmed."""

    def __init__(self, passages: list[tuple[int, str]]) -> None:
        super().__init__(passages)
        from retrieval.text import WORD, normalize

        def tokenize(text: str) -> list[str]:
            return WORD.findall(normalize(text))

        self.tokenize = tokenize
        self.tf = {pid: Counter(tokenize(text)) for pid, text in passages}
        self.length = {pid: sum(c.values()) for pid, c in self.tf.items()}
        self.avgdl = sum(self.length.values()) / max(len(self.length), 1)
        self.postings = defaultdict(list)
        for pid, counts in self.tf.items():
            for term in counts:
                self.postings[term].append(pid)


# --- Question sets ------------------------------------------------------------------------
# A set: (label, articles, questions); an article: (title, [paragraph text]); a question:
# (text, article index, paragraph index).
def xquad_sets(limit: int | None) -> list[tuple[str, list, list, list]]:
    articles = json.loads(rb.DATA.read_text())["articles"]

    def build(lang: str, transform=lambda s: s):
        docs = [
            (
                a["title"].replace("_", " ") if lang == "en" else None,
                [p[lang] for p in a["paragraphs"]],
            )
            for a in articles
        ]
        questions = [
            (transform(qa[lang]), i, j)
            for i, a in enumerate(articles)
            for j, p in enumerate(a["paragraphs"])
            for qa in p["qas"]
        ]
        return docs, questions[:limit]

    en_docs, en_q = build("en")
    ar_docs, ar_q = build("ar")
    _, informal_q = build("ar", rb.informal)
    offset = len(en_docs)
    shift = lambda qs: [(q, i + offset, j) for q, i, j in qs]  # noqa: E731
    mixed = en_docs + ar_docs
    return [
        ("XQuAD Arabic", [ar_docs], [ar_q], ["XQuAD Arabic"]),
        ("XQuAD Arabic", [ar_docs], [informal_q], ["XQuAD Arabic, informal"]),
        ("XQuAD English", [en_docs], [en_q], ["XQuAD English"]),
        (
            "XQuAD mixed",
            [mixed, mixed, mixed],
            [en_q, shift(ar_q), shift(informal_q)],
            ["Mixed: English", "Mixed: Arabic", "Mixed: Arabic, informal"],
        ),
    ]


def squad_set(path: str, limit: int | None):
    data = json.loads(Path(path).read_text())
    docs, questions = [], []
    for article in data["data"]:
        paragraphs = [p["context"] for p in article["paragraphs"]]
        for j, paragraph in enumerate(article["paragraphs"]):
            questions.extend((qa["question"], len(docs), j) for qa in paragraph["qas"])
        docs.append((None, paragraphs))
    name = Path(path).name
    return (name, [docs], [questions[:limit]], [name])


# --- Measuring ------------------------------------------------------------------------------
def ingest(user, docs) -> tuple[str, dict]:
    from retrieval import collections, ingest

    cid = collections.create_collection(user, "arabic analyser bench").collection_id
    where = {}
    for i, (title, paragraphs) in enumerate(docs):
        document = ingest.ingest_pages(user, cid, title, f"{i}.json", paragraphs)
        where[i] = document.doc_id
    return cid, where


def rank(context: list[dict], doc_id: str, page: int) -> int | None:
    return next(
        (
            n
            for n, c in enumerate(context, 1)
            if c["document_id"] == doc_id and c["page_start"] <= page <= c["page_end"]
        ),
        None,
    )


def measure(user, docs, questions) -> dict[str, tuple]:
    """Our ranking (this analyser) and the two baselines on one collection."""
    from retrieval import collections, querying
    from retrieval.models import Chunk, Collection, Posting

    cid, where = ingest(user, docs)
    postings = Posting.objects.filter(
        collection_id=Collection.objects.get(collection_id=cid).pk
    ).count()
    chunks = list(
        Chunk.objects.filter(collection=Collection.objects.get(collection_id=cid)).values_list(
            "id", "title", "text", "document__doc_id", "page_start", "page_end"
        )
    )
    passages = [(c[0], f"{c[1]}\n{c[2]}") for c in chunks]
    located = {c[0]: c[3:] for c in chunks}
    baselines = {"normalised": NormalisedBM25(passages), "plain": rb.PlainBM25(passages)}
    ranks = defaultdict(list)
    ms = []
    for question, i, j in questions:
        t0 = time.perf_counter()
        context = querying.query(user, cid, question, top_k=rb.TOP)["context"]
        ms.append((time.perf_counter() - t0) * 1000)
        ranks["ours"].append(rank(context, where[i], j + 1))
        for name, bm25 in baselines.items():
            found = [pid for pid in bm25.search(question, rb.TOP)]
            ranks[name].append(
                next(
                    (
                        n
                        for n, pid in enumerate(found, 1)
                        if located[pid][0] == where[i]
                        and located[pid][1] <= j + 1 <= located[pid][2]
                    ),
                    None,
                )
            )
    collections.delete_collection(user, cid)
    out = {name: rb.metrics(r) for name, r in ranks.items()}
    out["ms"] = sorted(ms)
    out["n"] = len(questions)
    out["postings"] = postings
    return out


def percentile(ms: list[float], share: float) -> float:
    ms = sorted(ms)
    return ms[max(math.ceil(len(ms) * share) - 1, 0)]


def interleaved_latency(user, docs, questions) -> dict[int, list[float]]:
    """Query time of each analyser on its own collection, the two asked in turn for
    every question, so that both see the same load."""
    from retrieval import collections, querying
    from retrieval.text import ANALYSER_VERSION

    cids = {}
    for version in (1, ANALYSER_VERSION):
        with Analyser(version):
            cids[version] = ingest(user, docs)[0]
    ms = {version: [] for version in cids}
    for n, (question, _, _) in enumerate(questions):
        order = list(cids.items())
        for version, cid in order if n % 2 else order[::-1]:  # each goes first in turn
            with Analyser(version):
                t0 = time.perf_counter()
                querying.query(user, cid, question, top_k=rb.TOP)
                ms[version].append((time.perf_counter() - t0) * 1000)
    for cid in cids.values():
        collections.delete_collection(user, cid)
    return ms


def main() -> int:
    args = parse_args()
    rb.setup_django()
    from accounts.models import User
    from retrieval.text import ANALYSER_VERSION

    user, _ = User.objects.get_or_create(email="arabic-analyser-bench@portico.local")
    sets = [] if args.skip_xquad else xquad_sets(args.limit)
    sets += [squad_set(path, args.limit) for path in args.squad]
    if not args.squad:
        print(
            "No natively written Arabic question set given (--squad FILE): none ships in a "
            "package this project can install, so only XQuAD (translated questions) runs."
        )
    rows = []
    started = time.perf_counter()
    for _, doc_sets, question_sets, labels in [] if args.latency_only else sets:
        for docs, questions, label in zip(doc_sets, question_sets, labels, strict=True):
            for version in (1, ANALYSER_VERSION):
                with Analyser(version):
                    rows.append((label, version, measure(user, docs, questions)))
    if rows:
        print_rows(rows, started)
    if not args.skip_xquad:
        _, doc_sets, question_sets, _ = sets[0]
        ms = interleaved_latency(user, doc_sets[0], question_sets[0])
        print("\nQuery time, XQuAD Arabic, the two analysers asked in turn (same load):")
        for version, times in ms.items():
            print(
                f"analyser {version}: p50 {percentile(times, 0.5):.1f} ms, "
                f"p95 {percentile(times, 0.95):.1f} ms"
            )
    return 0


def print_rows(rows, started: float) -> None:
    from retrieval.text import ANALYSER_VERSION

    print(
        f"\nArabic analyser, before (1) and after ({ANALYSER_VERSION}), querying.query top "
        f"{rb.TOP}; hit = right document and page [{time.perf_counter() - started:.0f} s]"
    )
    head = f"{'hit@1':>6} {'hit@5':>6} {'MRR@10':>7}"
    print(
        f"{'questions':<26}{'n':>6} {'an.':>4}  {head}   normalised BM25: {head}   plain BM25: {head}   postings  query p50/p95"
    )
    for label, version, row in rows:
        cells = "   ".join(
            f"{prefix}{row[name][0]:>6.3f} {row[name][1]:>6.3f} {row[name][2]:>7.3f}"
            for name, prefix in (("ours", ""), ("normalised", " " * 17), ("plain", " " * 12))
        )
        ms = row["ms"]
        print(
            f"{label:<26}{row['n']:>6} {version:>4}  {cells}   {row['postings']:>8}  "
            f"{percentile(ms, 0.5):.1f}/{percentile(ms, 0.95):.1f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
