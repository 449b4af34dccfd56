"""Retrieval quality and speed on XQuAD (English + Arabic), through the API.

Usage::

    .venv/bin/python bench/retrieval_bench.py [--pages 10000] [--skip-quality] [--keep]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portico_retrieval_wt \
        .venv/bin/python bench/retrieval_bench.py --pages 100000 --skip-quality

A real Portico server process (uvicorn, the test suite's ``PorticoServer``, the Celery
task inline in it) serves ``/v1/alRetrieval/...`` on loopback; the benchmark calls it
with a real API key (scope ``alretrieval``; queries priced and metered as in
production, from ``catalog.yaml``), as a client would.

Quality: the 48 XQuAD articles (5 paragraphs each) become documents in several
formats, ingested through the API — JSON pages (a paragraph per page), and uploaded
files: DOCX (page breaks between paragraphs, generated here with python-docx), PPTX (a
slide per paragraph, python-pptx), and Markdown / plain-text files (one paragraph
each). Every question is asked through ``POST …/query`` (top 10); a hit is the right
document *and* page. Printed: hit@1, hit@5 and MRR@10 for English, Arabic, Arabic
typed informally (no diacritics, bare alef, ه for ة, ي for ى) and both languages in one
mixed collection; next to it, in the same run, plain BM25 over the same passages
without normalisation or stemming. Every question is also asked in-process through
``querying.query`` (the baseline path): the rankings must agree, and the latencies of
both paths are printed (p50/p95), the difference being the HTTP/admission/metering
cost.

Dense retrieval (``--dense``): the built-in ``portico/multilingual-e5-small`` by default
when installed (as in production), ``--dense off`` for lexical only, ``--dense hash`` for
a meaningless embedder (hash vectors from the local test model under a catalog entry
of its own) to show that a ranking that knows nothing does not drag the lexical one
down, or any catalog embedding model's id. With dense on, two cross-language runs are
added — English questions over the Arabic collection and Arabic questions over the
English one — and the in-process path embeds its question too. ``--questions N``
asks a sample of N questions per run (the built-in model embeds a few passages a
second: the full set takes long).

Speed: ingest rate of text pages through the API (JSON pages: extraction, storage,
chunking, index writes, the task inline in the server) and query latency (p50/p95,
API and ``querying.query``) on a synthetic collection of ``--pages`` pages made of XQuAD
sentences.

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
        "--dense",
        default="default",
        help="default (the built-in model when installed) | off | hash | a catalog model id",
    )
    parser.add_argument("--questions", type=int, default=0, help="sample N questions per run")
    parser.add_argument(
        "--dump-rankings",
        metavar="FILE",
        help="write every question's ranking (document, pages, score) to FILE, to compare "
        "backends with diff",
    )
    return parser.parse_args()


HASH_MODEL = "bench/hash-embedding"


def setup_django(dense: str) -> None:
    if dense == "off":
        os.environ["RETRIEVAL_EMBEDDING_MODEL"] = ""
    elif dense == "hash":
        os.environ["RETRIEVAL_EMBEDDING_MODEL"] = HASH_MODEL
    elif dense != "default":
        os.environ["RETRIEVAL_EMBEDDING_MODEL"] = dense
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
    # The shipped catalog: queries are priced (held and metered) as in production.
    call_command("load_catalog", str(ROOT / "catalog.yaml"), stdout=io.StringIO())
    if dense == "hash":
        from catalog.models import Deployment, Model, Provider

        model, _ = Model.objects.get_or_create(public_id=HASH_MODEL, type="embedding")
        Deployment.objects.get_or_create(
            model=model,
            provider=Provider.objects.get(name="local"),
            upstream_model="test-embedding",
        )


# --- The API client -------------------------------------------------------------------
class Api:
    """``/v1/alRetrieval/collections`` through a real server, as a client calls it."""

    def __init__(self, url: str, secret: str) -> None:
        import httpx

        self.base = url + "/v1/alRetrieval/collections"
        self.vector_stores = url + "/v1/vector_stores"
        self.client = httpx.Client(headers={"Authorization": f"Bearer {secret}"}, timeout=300)

    def call(self, method: str, path: str = "", **kwargs) -> dict:
        response = self.client.request(method, self.base + path, **kwargs)
        if response.status_code != 200:
            raise SystemExit(f"{method} {path}: HTTP {response.status_code} {response.text}")
        return response.json()

    def create(self, name: str) -> str:
        return self.call("POST", "", json={"name": name})["collection_id"]

    def delete(self, cid: str) -> None:
        self.call("DELETE", f"/{cid}")

    def ingest_pages(self, cid: str, title: str | None, filename: str, pages: list[str]) -> str:
        body = {"title": title, "filename": filename, "pages": pages}
        return self.ready(cid, self.call("POST", f"/{cid}/documents/ingest", json=body)["id"])

    def ingest_file(self, cid: str, filename: str, data: bytes) -> str:
        files = {"file": (filename, data, "application/octet-stream")}
        return self.ready(cid, self.call("POST", f"/{cid}/documents/ingest", files=files)["id"])

    def ready(self, cid: str, doc_id: str) -> str:
        """Ready, and its vectors made (when dense retrieval is on)."""
        deadline = time.monotonic() + 3600
        while True:
            status = self.call("GET", f"/{cid}/documents/{doc_id}/status")
            if status["status"] == "ready" and status["dense_status"] != "pending":
                return doc_id
            if status["status"] == "error" or time.monotonic() > deadline:
                raise SystemExit(f"document {doc_id}: {status}")
            time.sleep(0.02)

    def query(self, cid: str, question: str, top_k: int = TOP) -> tuple[list[dict], float]:
        t0 = time.perf_counter()
        answer = self.call("POST", f"/{cid}/query", json={"query": question, "top_k": top_k})
        return answer["context"], (time.perf_counter() - t0) * 1000

    def search(self, cid: str, question: str, files: dict[str, str]) -> list[dict]:
        """The same question through ``POST /v1/vector_stores/vs_…/search`` (OpenAI's
        face of the same collection), as ``context`` entries (``files``: file id → doc id)."""
        response = self.client.post(
            f"{self.vector_stores}/vs_{cid}/search",
            json={"query": question, "max_num_results": TOP},
        )
        if response.status_code != 200:
            raise SystemExit(f"search: HTTP {response.status_code} {response.text}")
        return [
            {
                "document_id": files[hit["file_id"]],
                "page_start": hit["page_start"],
                "page_end": hit["page_end"],
                "score": hit["score"],
            }
            for hit in response.json()["data"]
        ]


def start_server(user) -> tuple[object, Api]:
    """A Portico server process on this database, and an API key for ``user``."""
    from decimal import Decimal

    from django.conf import settings

    from accounts.keys import issue_key
    from billing.credits import credit
    from billing.wallets import current_organization_id
    from tests.support.processes import PorticoServer, child_env

    credit(
        current_organization_id(user),
        Decimal(1000),
        kind="adjustment",
        idempotency_key=f"bench:{time.time()}",
    )
    secret = issue_key(user, "retrieval bench", scopes=["alretrieval"], rpm=10_000_000).secret
    # DEBUG off, as in production (DEBUG keeps every SQL query in memory); the same
    # secret key, which key digests depend on.
    env = child_env(CELERY_TASK_ALWAYS_EAGER="1", DEBUG="0", SECRET_KEY=settings.SECRET_KEY)
    server = PorticoServer(env)
    server.wait_ready(timeout=60)
    return server, Api(server.url, secret)


def percentiles(times: list[float]) -> str:
    times = sorted(times)
    return f"p50 {statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95) - 1]:.1f} ms"


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


def build_collection(api: Api, articles: list[dict], languages: list[str]) -> tuple[str, dict]:
    """Ingest the articles through the API; returns the collection id and
    {(lang, art, par): (doc, page)}."""
    cid = api.create("xquad " + "+".join(languages))
    where: dict[tuple[str, int, int], tuple[str, int]] = {}
    for lang in languages:
        for a, article in enumerate(articles):
            title = article["title"].replace("_", " ") if lang == "en" else None
            paragraphs = [p[lang] for p in article["paragraphs"]]
            kind = a % 4
            if kind == 0:
                doc = api.ingest_pages(cid, title, f"{a}-{lang}.json", paragraphs)
                where.update({(lang, a, p): (doc, p + 1) for p in range(len(paragraphs))})
            elif kind == 1:
                doc = api.ingest_file(cid, f"{a}-{lang}.docx", docx_bytes(title, paragraphs))
                where.update({(lang, a, p): (doc, p + 1) for p in range(len(paragraphs))})
            elif kind == 2:
                doc = api.ingest_file(cid, f"{a}-{lang}.pptx", pptx_bytes(title, paragraphs))
                where.update({(lang, a, p): (doc, p + 1) for p in range(len(paragraphs))})
            else:
                for p, paragraph in enumerate(paragraphs):
                    if p % 2:
                        name, body = f"{a}-{p}-{lang}.txt", paragraph
                    else:
                        name = f"{a}-{p}-{lang}.md"
                        body = (f"# {title}\n\n" if title else "") + paragraph
                    where[(lang, a, p)] = (api.ingest_file(cid, name, body.encode()), 1)
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


def rank_of(context: list[dict], gold_doc: str, gold_page: int) -> int | None:
    return next(
        (
            i
            for i, c in enumerate(context, 1)
            if c["document_id"] == gold_doc and c["page_start"] <= gold_page <= c["page_end"]
        ),
        None,
    )


def evaluate(api: Api, user, articles, cid, where, lang_queries, sample) -> dict[str, dict]:
    """Per label: API and flows ranks' metrics, plain BM25's, vector_stores.search's,
    latencies, disagreements. ``lang_queries``: (label, question language, transform,
    passages' language)."""
    from retrieval import dense, querying
    from retrieval.embedding import Payer
    from retrieval.models import Chunk, Collection, Document

    collection = Collection.objects.get(collection_id=cid)
    files = dict(
        Document.objects.filter(collection=collection).values_list("file__file_id", "doc_id")
    )
    chunks = list(
        Chunk.objects.filter(collection=collection).values_list(
            "id", "title", "text", "document__doc_id", "page_start", "page_end"
        )
    )
    plain = PlainBM25([(c[0], f"{c[1]}\n{c[2]}") for c in chunks])
    located = {c[0]: (c[3], c[4], c[5]) for c in chunks}
    names = {d: f"{a2}/{p2}" for (_, a2, p2), (d, _) in where.items()}
    out = {}
    dense_on = dense.enabled()
    for label, lang, transform, gold_lang in lang_queries:
        ours, base, faced, api_ms, flows_ms, differ, faces_differ = [], [], [], [], [], 0, 0
        for a, article in enumerate(articles):
            for p, paragraph in enumerate(article["paragraphs"]):
                gold_doc, gold_page = where[(gold_lang, a, p)]
                for qa in paragraph["qas"]:
                    if sample is not None and qa["id"] not in sample:
                        continue
                    question = transform(qa[lang])
                    context, ms = api.query(cid, question)
                    api_ms.append(ms)
                    t0 = time.perf_counter()
                    vector = querying.embed_query(question, Payer(user.pk)) if dense_on else None
                    direct = querying.query(user, cid, question, top_k=TOP, query_vector=vector)[
                        "context"
                    ]
                    flows_ms.append((time.perf_counter() - t0) * 1000)
                    differ += direct != context
                    searched = api.search(cid, question, files)
                    faces_differ += [
                        (c["document_id"], c["page_start"], c["score"]) for c in context
                    ] != [(c["document_id"], c["page_start"], c["score"]) for c in searched]
                    faced.append(rank_of(searched, gold_doc, gold_page))
                    DUMP.append(
                        f"{label}\t{qa['id']}\t"
                        + " ".join(
                            f"{names.get(c['document_id'], '?')}:{c['page_start']}-"
                            f"{c['page_end']}:{c['score']:.4f}"
                            for c in context
                        )
                    )
                    ours.append(rank_of(context, gold_doc, gold_page))
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
        out[label] = {
            "ours": metrics(ours),
            "plain": metrics(base),
            "vector_stores": metrics(faced),
            "faces_differ": faces_differ,
            "n": len(ours),
            "api_ms": api_ms,
            "flows_ms": flows_ms,
            "differ": differ,
        }
    return out


def quality(api: Api, user, articles, questions: int) -> None:
    from retrieval import dense

    same = lambda text: text  # noqa: E731
    sample = None
    if questions:
        ids = [qa["id"] for a in articles for p in a["paragraphs"] for qa in p["qas"]]
        sample = set(random.Random(1).sample(ids, min(questions, len(ids))))
    cross = dense.enabled()  # words cannot match across scripts: only with dense on
    rows = []
    started = time.perf_counter()
    for languages, queries in (
        (
            ["en"],
            [("English", "en", same, "en")]
            + ([("Cross: Arabic -> English", "ar", same, "en")] if cross else []),
        ),
        (
            ["ar"],
            [("Arabic", "ar", same, "ar"), ("Arabic, informal", "ar", informal, "ar")]
            + ([("Cross: English -> Arabic", "en", same, "ar")] if cross else []),
        ),
        (
            ["en", "ar"],
            [
                ("Mixed: English", "en", same, "en"),
                ("Mixed: Arabic", "ar", same, "ar"),
                ("Mixed: Arabic, informal", "ar", informal, "ar"),
            ],
        ),
    ):
        t0 = time.perf_counter()
        cid, where = build_collection(api, articles, languages)
        passages = sum(1 for key in where if key[0] in languages)
        print(
            f"  built {'+'.join(languages)} ({passages} paragraphs, vectors included) in "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        rows.extend(evaluate(api, user, articles, cid, where, queries, sample).items())
        api.delete(cid)
    model = dense.configured_model() if dense.enabled() else None
    print(f"\nDense retrieval: {model or 'off'}")
    print(
        f"\nQuality (XQuAD through the API, top {TOP}; hit = right document and page) "
        f"[{time.perf_counter() - started:.0f} s]"
    )
    print(
        f"{'questions':<26}{'n':>6}  {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7}   "
        f"plain BM25: {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7}"
    )
    for label, row in rows:
        ours, base = row["ours"], row["plain"]
        print(
            f"{label:<26}{row['n']:>6}  {ours[0]:>6.3f} {ours[1]:>6.3f} {ours[2]:>7.3f}   "
            f"            {base[0]:>6.3f} {base[1]:>6.3f} {base[2]:>7.3f}"
        )
    print("\nQuery latency on these collections (240–480 passages), per question:")
    print(f"{'questions':<26}{'API (HTTP, key, metering)':<36}{'querying.query in-process':<36}")
    for label, row in rows:
        print(f"{label:<26}{percentiles(row['api_ms']):<36}{percentiles(row['flows_ms']):<36}")
    differ = sum(row["differ"] for _, row in rows)
    total = sum(row["n"] for _, row in rows)
    print(f"API and querying.query rankings differ for {differ} of {total} questions")
    print(f"\nThe same questions through POST /v1/vector_stores/{{id}}/search (top {TOP}):")
    print(
        f"{'questions':<26}{'n':>6}  {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7}   differs from /query"
    )
    for label, row in rows:
        faced = row["vector_stores"]
        print(
            f"{label:<26}{row['n']:>6}  {faced[0]:>6.3f} {faced[1]:>6.3f} {faced[2]:>7.3f}   "
            f"{row['faces_differ']}"
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


def speed(api: Api, user, articles, pages: int, queries: int) -> str:
    from django.db import connection

    from retrieval import querying
    from retrieval.models import Collection

    rng = random.Random(7)
    per_doc = 100
    kept = Collection.objects.filter(owner=user, name=f"synthetic {pages}").first()
    if kept is not None and kept.documents.filter(status="ready").count() * per_doc >= pages:
        cid, done = kept.collection_id, pages  # built by an earlier run with --keep
        print(f"  reusing the {pages:,}-page collection of an earlier run")
    else:
        cid, done = api.create(f"synthetic {pages}"), 0
    started = time.perf_counter()
    built = done
    ingest_rates = []
    while done < pages:
        batch = synthetic_pages(articles, min(per_doc, pages - done), rng)
        t0 = time.perf_counter()
        api.ingest_pages(cid, f"Synthetic {done}", f"s{done}.json", batch)
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
        api.query(cid, q, 8)
        querying.query(user, cid, q)
    api_ms, flows_ms, cpu = [], [], []
    for q in questions[:queries]:
        api_ms.append(api.query(cid, q, 8)[1])
        t0, c0 = time.perf_counter(), time.process_time()
        querying.query(user, cid, q)
        flows_ms.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    print(
        f"\nSpeed ({connection.vendor}, {pages:,} pages in {math.ceil(pages / per_doc)} documents)"
    )
    if ingest_rates:
        print(
            f"  ingest through the API, JSON text pages (the task inline in the server): "
            f"{(pages - built) / elapsed:,.0f} pages/s "
            f"(median per 100-page document: {statistics.median(ingest_rates):,.0f})"
        )
    print(f"  query through the API, {len(api_ms)} questions (top 8): {percentiles(api_ms)}")
    print(f"  the same through querying.query in-process:        {percentiles(flows_ms)}")
    print(
        f"  CPU time of the in-process querying.query (SQLite's work included): {percentiles(cpu)}"
    )
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return cid


def main() -> int:
    args = parse_args()
    setup_django(args.dense)
    from accounts.models import User

    articles = json.loads(DATA.read_text())["articles"]
    user, _ = User.objects.get_or_create(email="retrieval-bench@portico.local")
    server, api = start_server(user)
    try:
        if not args.skip_quality:
            quality(api, user, articles, args.questions)
            if args.dump_rankings:
                Path(args.dump_rankings).write_text("\n".join(DUMP) + "\n")
        from retrieval import dense

        if not args.skip_speed and dense.enabled():
            # The server runs its tasks inline: each ingest would wait for its vectors.
            print(
                "\nSpeed skipped with dense retrieval on: run it with --dense off (ingest "
                "is lexical first); bench/vectors_bench.py measures what vectors add."
            )
        elif not args.skip_speed:
            cid = speed(api, user, articles, args.pages, args.queries)
            if not args.keep:
                api.delete(cid)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
