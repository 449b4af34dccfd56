"""What dense retrieval adds to a query at 1,000 and 10,000 pages: brute-force cosines
over a collection's cached vector matrix, in-process.

Usage::

    .venv/bin/python bench/vectors_bench.py [--pages 1000 10000] [--queries 200]

A synthetic collection of ``--pages`` pages (XQuAD sentences, 100 pages a document) is
indexed lexically through the real ingest on a temporary SQLite database (or
``DATABASE_URL``); every passage then gets a 384-float unit vector (random: the
built-in model would need hours for 10,000 pages on this machine; the cost measured
here does not depend on the values). Printed, per size: ``retrieval.search.search``
lexical only and with a query vector (p50/p95 over ``--queries`` questions), the first
query's read of the matrix from the database (cold) and the cosine part alone. The
query's own embedding (the built-in model: 0.1–0.2 s) comes on top: see
``bench/fusion_bench.py`` and docs/retrieval.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "xquad" / "xquad_ar_en.json"
if not DATA.exists():
    DATA = Path("/work/shared/data/xquad/xquad_ar_en.json")
MODEL = "bench/vectors"


def setup() -> None:
    if not os.environ.get("DATABASE_URL"):
        os.environ["PORTICO_VAR_DIR"] = tempfile.mkdtemp(prefix="portico-vectors-bench-")
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["RETRIEVAL_EMBEDDING_MODEL"] = ""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentiles(times: list[float]) -> str:
    times = sorted(times)
    return (
        f"p50 {statistics.median(times):6.1f} ms, p95 {times[int(len(times) * 0.95) - 1]:6.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    setup()
    from accounts.models import User
    from retrieval import vectors
    from retrieval.collections import create_collection
    from retrieval.ingest import ingest_pages
    from retrieval.models import Chunk, Document
    from retrieval.search import search

    articles = json.loads(DATA.read_text())["articles"]
    sentences = [
        s
        for article in articles
        for p in article["paragraphs"]
        for lang in ("en", "ar")
        for s in re.split(r"(?<=[.!?؟])\s+", p[lang])
        if len(s.split()) > 4
    ]
    questions = [
        qa[lang]
        for article in articles
        for p in article["paragraphs"]
        for qa in p["qas"]
        for lang in ("en", "ar")
    ]
    rng = random.Random(7)
    rng.shuffle(questions)
    user = User.objects.create(email=f"vectors-bench-{time.time()}@portico.local")
    vector_rng = np.random.default_rng(7)
    for pages in args.pages:
        collection = create_collection(user, f"vectors {pages}")
        for start in range(0, pages, 100):
            batch = [" ".join(rng.sample(sentences, 6)) for _ in range(min(100, pages - start))]
            ingest_pages(user, collection.collection_id, f"S{start}", f"s{start}.json", batch)
        Document.objects.filter(collection=collection).update(
            embedding_model=MODEL, dense_status="ready"
        )
        chunks = list(Chunk.objects.filter(collection=collection).values_list("id", flat=True))
        for chunk_id in chunks:
            v = vector_rng.standard_normal(384).astype(np.float32)
            Chunk.objects.filter(pk=chunk_id).update(embedding=(v / np.linalg.norm(v)).tobytes())
        collection.refresh_from_db()
        qv = [vector_rng.standard_normal(384).astype(np.float32) for _ in range(args.queries)]
        t0 = time.perf_counter()
        vectors.collection_matrix(collection.pk, MODEL, 384)
        cold = (time.perf_counter() - t0) * 1000
        lexical, fused, cosine = [], [], []
        for n, question in enumerate(questions[: args.queries]):
            t0 = time.perf_counter()
            search(collection, question, document_pks=None, top_k=8)
            lexical.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            search(
                collection,
                question,
                document_pks=None,
                top_k=8,
                query_vector=qv[n],
                embedding_model=MODEL,
            )
            fused.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            ids, scores = vectors.cosine_scores(collection.pk, MODEL, qv[n], document_pks=None)
            vectors.best(ids, scores, 50)
            cosine.append((time.perf_counter() - t0) * 1000)
        print(
            f"{pages:>6,} pages, {len(chunks):,} passages: lexical {percentiles(lexical)}; "
            f"with dense {percentiles(fused)}; cosines alone (warm matrix, version check "
            f"included) {percentiles(cosine)}; cold matrix read {cold:.0f} ms",
            flush=True,
        )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
