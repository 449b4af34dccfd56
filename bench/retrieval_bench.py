"""Retrieval quality and speed on XQuAD (English + Arabic), through ``retrieval.flows``.

Usage::

    .venv/bin/python bench/retrieval_bench.py [--pages 10000] [--skip-quality] [--keep]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portico_retrieval_wt \
        .venv/bin/python bench/retrieval_bench.py --pages 100000 --skip-quality

Quality: the 48 XQuAD articles (5 paragraphs each) become documents in several
formats — JSON pages (a paragraph per page), DOCX (page breaks between paragraphs,
generated here with python-docx), PPTX (a slide per paragraph, python-pptx), and
Markdown / plain-text files (one paragraph each). Every question is asked through
``flows.query`` (top 10); a hit is the right document *and* page. Printed: hit@1,
hit@5 and MRR@10 for English, Arabic, Arabic typed informally (no diacritics, bare
alef, ه for ة, ي for ى) and both languages in one mixed collection; next to it, in
the same run, plain BM25 over the same passages without normalisation or stemming.

Speed: ingest rate of text pages (extraction, storage, chunking, index writes: the
whole flow, the Celery task inline) and query latency (p50/p95 of ``flows.query``)
on a synthetic collection of ``--pages`` pages made of XQuAD sentences.

Without ``DATABASE_URL`` it runs on a fresh SQLite file in a temporary folder. With a
PostgreSQL ``DATABASE_URL`` it migrates and uses that database (give it a database of
its own: the benchmark's collections are deleted at the end unless ``--keep``).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = Path(
    os.environ.get("XQUAD_PATH", ROOT.parent / "shared" / "data" / "xquad" / "xquad_ar_en.json")
)
if not DATA.exists():
    DATA = Path("/work/shared/data/xquad/xquad_ar_en.json")
TOP = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=10_000, help="synthetic collection size")
    parser.add_argument("--queries", type=int, default=200, help="timed queries")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the collections")
    parser.add_argument(
        "--dump-rankings",
        metavar="FILE",
        help="write every question's ranking (document, pages, score) to FILE, to compare "
        "backends with diff",
    )
    return parser.parse_args()


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        os.environ["PORTICO_VAR_DIR"] = tempfile.mkdtemp(prefix="portico-retrieval-bench-")
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- Informal Arabic -----------------------------------------------------------------------
_DIACRITICS = re.compile("[\u064b-\u065f\u0670\u0640]")


def informal(text: str) -> str:
    """How people type Arabic: no diacritics, bare alef, ه for ة, ي for ى."""
    text = _DIACRITICS.sub("", text)
    return text.translate(str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"}))


# --- Documents -------------------------------------------------------------------------
def docx_bytes(title: str | None, paragraphs: list[str]) -> bytes:
    from docx import Document

    doc = Document()
    if title:
        doc.add_heading(title, level=1)
    for n, paragraph in enumerate(paragraphs):
        if n:
            doc.add_page_break()
        doc.add_paragraph(paragraph)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def pptx_bytes(title: str | None, paragraphs: list[str]) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for paragraph in paragraphs:
        if title:
            slide = deck.slides.add_slide(deck.slide_layouts[1])
            slide.shapes.title.text = title
            slide.placeholders[1].text = paragraph
        else:
            slide = deck.slides.add_slide(deck.slide_layouts[6])
            box = slide.shapes.add_textbox(Inches(0.5), Inches(0.5), Inches(9), Inches(6))
            box.text_frame.text = paragraph
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def build_collection(user, articles: list[dict], languages: list[str]) -> tuple[str, dict]:
    """Ingest the articles; returns the collection id and {(lang, art, par): (doc, page)}."""
    from retrieval import flows

    collection = flows.create_collection(user, "xquad " + "+".join(languages))
    cid = collection.collection_id
    where: dict[tuple[str, int, int], tuple[str, int]] = {}
    for lang in languages:
        for a, article in enumerate(articles):
            title = article["title"].replace("_", " ") if lang == "en" else None
            paragraphs = [p[lang] for p in article["paragraphs"]]
            kind = a % 4
            if kind == 0:
                doc = flows.ingest_pages(user, cid, title, f"{a}-{lang}.json", paragraphs)
                where.update({(lang, a, p): (doc.doc_id, p + 1) for p in range(len(paragraphs))})
            elif kind == 1:
                data = docx_bytes(title, paragraphs)
                doc = flows.ingest_file(user, cid, f"{a}-{lang}.docx", "", data)
                where.update({(lang, a, p): (doc.doc_id, p + 1) for p in range(len(paragraphs))})
            elif kind == 2:
                data = pptx_bytes(title, paragraphs)
                doc = flows.ingest_file(user, cid, f"{a}-{lang}.pptx", "", data)
                where.update({(lang, a, p): (doc.doc_id, p + 1) for p in range(len(paragraphs))})
            else:
                for p, paragraph in enumerate(paragraphs):
                    if p % 2:
                        name, body = f"{a}-{p}-{lang}.txt", paragraph
                    else:
                        name = f"{a}-{p}-{lang}.md"
                        body = (f"# {title}\n\n" if title else "") + paragraph
                    doc = flows.ingest_file(user, cid, name, "", body.encode())
                    where[(lang, a, p)] = (doc.doc_id, 1)
    return cid, where


# --- Plain BM25 baseline ----------------------------------------------------------------
class PlainBM25:
    """Textbook BM25 over the same passages: lower-cased words, nothing else."""

    def __init__(self, passages: list[tuple[int, str]]) -> None:
        from retrieval.text import plain_terms

        self.tokenize = plain_terms
        self.tf = {pid: Counter(plain_terms(text)) for pid, text in passages}
        self.length = {pid: sum(c.values()) for pid, c in self.tf.items()}
        self.avgdl = sum(self.length.values()) / max(len(self.length), 1)
        self.postings: dict[str, list[int]] = defaultdict(list)
        for pid, counts in self.tf.items():
            for term in counts:
                self.postings[term].append(pid)

    def search(self, query: str, k: int) -> list[int]:
        n = len(self.tf)
        scores: Counter[int] = Counter()
        for term in set(self.tokenize(query)):
            ids = self.postings.get(term, [])
            idf = math.log(1 + (n - len(ids) + 0.5) / (len(ids) + 0.5))
            for pid in ids:
                tf = self.tf[pid][term]
                norm = 1.2 * (0.25 + 0.75 * self.length[pid] / self.avgdl)
                scores[pid] += idf * tf * 2.2 / (tf + norm)
        return [pid for pid, _ in sorted(scores.items(), key=lambda x: (-x[1], x[0]))[:k]]


def metrics(ranks: list[int | None]) -> tuple[float, float, float]:
    n = len(ranks)
    hit1 = sum(1 for r in ranks if r == 1) / n
    hit5 = sum(1 for r in ranks if r is not None and r <= 5) / n
    mrr = sum(1 / r for r in ranks if r is not None and r <= TOP) / n
    return hit1, hit5, mrr


DUMP: list[str] = []


def evaluate(user, articles, cid, where, lang_queries) -> dict[str, tuple]:
    """{label: (ours (h1,h5,mrr), plain (h1,h5,mrr), questions)}."""
    from retrieval import flows
    from retrieval.models import Chunk, Collection

    collection = Collection.objects.get(collection_id=cid)
    chunks = list(
        Chunk.objects.filter(collection=collection).values_list(
            "id", "title", "text", "document__doc_id", "page_start", "page_end"
        )
    )
    plain = PlainBM25([(c[0], f"{c[1]}\n{c[2]}") for c in chunks])
    located = {c[0]: (c[3], c[4], c[5]) for c in chunks}
    out = {}
    for label, lang, transform in lang_queries:
        ours, base = [], []
        for a, article in enumerate(articles):
            for p, paragraph in enumerate(article["paragraphs"]):
                gold_doc, gold_page = where[(lang, a, p)]
                for qa in paragraph["qas"]:
                    question = transform(qa[lang])
                    answer = flows.query(user, cid, question, top_k=TOP)
                    names = {d: f"{a2}/{p2}" for (_, a2, p2), (d, _) in where.items()}
                    DUMP.append(
                        f"{label}\t{qa['id']}\t"
                        + " ".join(
                            f"{names.get(c['document_id'], '?')}:{c['page_start']}-"
                            f"{c['page_end']}:{c['score']:.4f}"
                            for c in answer["context"]
                        )
                    )
                    ours.append(
                        next(
                            (
                                i
                                for i, c in enumerate(answer["context"], 1)
                                if c["document_id"] == gold_doc
                                and c["page_start"] <= gold_page <= c["page_end"]
                            ),
                            None,
                        )
                    )
                    base.append(
                        next(
                            (
                                i
                                for i, pid in enumerate(plain.search(question, TOP), 1)
                                if located[pid][0] == gold_doc
                                and located[pid][1] <= gold_page <= located[pid][2]
                            ),
                            None,
                        )
                    )
        out[label] = (metrics(ours), metrics(base), len(ours))
    return out


def quality(user, articles) -> None:
    from retrieval import flows

    same = lambda text: text  # noqa: E731
    rows = []
    started = time.perf_counter()
    for languages, queries in (
        (["en"], [("English", "en", same)]),
        (["ar"], [("Arabic", "ar", same), ("Arabic, informal", "ar", informal)]),
        (
            ["en", "ar"],
            [
                ("Mixed: English", "en", same),
                ("Mixed: Arabic", "ar", same),
                ("Mixed: Arabic, informal", "ar", informal),
            ],
        ),
    ):
        cid, where = build_collection(user, articles, languages)
        for label, (ours, base, n) in evaluate(user, articles, cid, where, queries).items():
            rows.append((label, n, ours, base))
        flows.delete_collection(user, cid)
    print(
        f"\nQuality (XQuAD, top {TOP}; hit = right document and page) "
        f"[{time.perf_counter() - started:.0f} s]"
    )
    print(
        f"{'questions':<26}{'n':>6}  {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7}   "
        f"plain BM25: {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7}"
    )
    for label, n, ours, base in rows:
        print(
            f"{label:<26}{n:>6}  {ours[0]:>6.3f} {ours[1]:>6.3f} {ours[2]:>7.3f}   "
            f"            {base[0]:>6.3f} {base[1]:>6.3f} {base[2]:>7.3f}"
        )


# --- Speed -------------------------------------------------------------------------------
def synthetic_pages(articles, count: int, rng: random.Random) -> list[str]:
    sentences = [
        s
        for article in articles
        for p in article["paragraphs"]
        for lang in ("en", "ar")
        for s in re.split(r"(?<=[.!?؟])\s+", p[lang])
        if len(s.split()) > 4
    ]
    return [" ".join(rng.sample(sentences, 6)) for _ in range(count)]


def speed(user, articles, pages: int, queries: int) -> None:
    from django.db import connection

    from retrieval import flows
    from retrieval.models import Collection

    rng = random.Random(7)
    per_doc = 100
    kept = Collection.objects.filter(owner=user, name=f"synthetic {pages}").first()
    if kept is not None and kept.documents.filter(status="ready").count() * per_doc >= pages:
        cid, done = kept.collection_id, pages  # built by an earlier run with --keep
        print(f"  reusing the {pages:,}-page collection of an earlier run")
    else:
        cid, done = flows.create_collection(user, f"synthetic {pages}").collection_id, 0
    started = time.perf_counter()
    built = done
    ingest_rates = []
    while done < pages:
        batch = synthetic_pages(articles, min(per_doc, pages - done), rng)
        t0 = time.perf_counter()
        flows.ingest_pages(user, cid, f"Synthetic {done}", f"s{done}.json", batch)
        ingest_rates.append(len(batch) / (time.perf_counter() - t0))
        done += len(batch)
        if done % 10_000 == 0:
            print(f"  … {done} pages in {time.perf_counter() - started:.0f} s", flush=True)
    elapsed = time.perf_counter() - started
    if connection.vendor == "postgresql":
        # What autovacuum does after a bulk load: statistics and the visibility map
        # (index-only scans of the postings).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE retrieval_posting")
    questions = [
        qa[lang]
        for article in articles
        for p in article["paragraphs"]
        for qa in p["qas"]
        for lang in ("en", "ar")
    ]
    rng.shuffle(questions)
    for q in questions[:20]:  # warm caches
        flows.query(user, cid, q)
    times, cpu = [], []
    for q in questions[:queries]:
        t0, c0 = time.perf_counter(), time.process_time()
        flows.query(user, cid, q)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    cpu.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(
        f"\nSpeed ({connection.vendor}, {pages:,} pages in {math.ceil(pages / per_doc)} documents)"
    )
    if ingest_rates:
        print(
            f"  ingest, text pages (whole flow, one process): {(pages - built) / elapsed:,.0f} "
            f"pages/s (median per 100-page document: {statistics.median(ingest_rates):,.0f})"
        )
    print(
        f"  query over the collection, {len(times)} questions: p50 {statistics.median(times):.1f} ms,"
        f" p95 {p95:.1f} ms, max {times[-1]:.1f} ms"
    )
    print(
        f"  CPU time of this process per query (SQLite's work included; not PostgreSQL's): "
        f"p50 {statistics.median(cpu):.1f} ms, p95 {cpu[int(len(cpu) * 0.95) - 1]:.1f} ms"
    )
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return cid


def main() -> int:
    args = parse_args()
    setup_django()
    from accounts.models import User
    from retrieval import flows

    articles = json.loads(DATA.read_text())["articles"]
    user, _ = User.objects.get_or_create(email="retrieval-bench@portico.local")
    if not args.skip_quality:
        quality(user, articles)
        if args.dump_rankings:
            Path(args.dump_rankings).write_text("\n".join(DUMP) + "\n")
    if not args.skip_speed:
        cid = speed(user, articles, args.pages, args.queries)
        if not args.keep:
            flows.delete_collection(user, cid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
