"""Ranking: BM25 over the postings, computed in SQL, the same on PostgreSQL and SQLite.

Per query: one ``COUNT`` per query term over the (collection, term) index range gives
the document frequencies; one aggregate over the postings of the query terms gives each
passage's BM25 (k1 = 1.2, b = 0.75, Lucene's idf ``ln(1 + (N - df + .5) / (df + .5))``).
Only the postings of the query's terms are read, never the whole collection. The best
``RERANK_DEPTH`` passages then get a small bonus for query words that also stand side
by side in the passage (``proximity_rerank``), and dense retrieval, when on, is fused
in by a reciprocal rank fusion that weighs each ranking by its trust (``fuse_dense``).

``score`` = (BM25 + bonus) / (Σ_t qtf_t · idf_t · (k1 + 1) + the bonus of every query
pair): the share of the best score any passage could reach for this query (each term's
saturation ``tf·(k1+1)/(tf+K)`` is below k1+1), so it lies in [0, 1) and means the same
thing from one query to the next.

A query word the collection does not contain is looked up in the collection's
vocabulary (``retrieval.spelling``, bounded work); the closest terms stand in for it
with ``FUZZY_WEIGHT`` of their weight. The absent word still counts in the best possible
score, and a passage found that way is not a direct hit.

An Arabic query word also asks for its second terms (``retrieval.text``: the exact
form when the stemmer cut a suffix, the stem without a bare ب / ل / ك) at
``EXACT_WEIGHT`` / ``BARE_PREFIX_WEIGHT`` of their weight; they count in the best
possible score only when the collection has them.

A query is ranked on its first ``MAX_QUERY_TERMS`` distinct terms (a pasted page is
not a reason to read the postings of hundreds of words); every stage takes a
``QueryBudget`` and stops with ``QueryCancelled`` once it is cancelled.

``is_direct_hit``: the passage contains every content word of the query (after the same
normalisation and stemming as the index: stop words are not content words), so an
exact phrase hit is always a direct hit.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection

from retrieval import dense
from retrieval.models import Chunk, Collection, Posting
from retrieval.spelling import QueryBudget, spelling_relatives
from retrieval.text import analysed_words, terms, word_spans
from retrieval.vectors import best, cosine_scores

K1 = 1.2
B = 0.75
SNIPPET_WORDS = 60
RERANK_DEPTH = 30  # BM25's best passages that the proximity bonus may reorder
PROXIMITY_WEIGHT = 0.25
FUZZY_WEIGHT = 0.8
MAX_QUERY_TERMS = 64
# Second terms of an Arabic query word (``retrieval.text``), as a share of a term's
# weight: its exact form when the stemmer cut a suffix (سليمان finds سليمان before
# سليم) and its stem without a bare ب / ل / ك (لسكان finds السكان). Measured on XQuAD
# Arabic (bench/arabic_analyser_bench.py): 0.2–0.5 and 0.35–1 are alike; higher
# exact-form weights start to lose paraphrased questions.
EXACT_WEIGHT = 0.35
BARE_PREFIX_WEIGHT = 0.5
POSTINGS = Posting._meta.db_table


@dataclass
class Hit:
    chunk_id: int
    raw: float
    score: float


def idf(n: int, df: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def _document_frequencies(collection_id: int, terms: list[str]) -> dict[str, int]:
    marks = ", ".join(["%s"] * len(terms))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT term, COUNT(*) FROM {POSTINGS} WHERE collection_id = %s "
            f"AND term IN ({marks}) GROUP BY term",
            [collection_id, *terms],
        )
        return dict(cursor.fetchall())


@dataclass
class Ranking:
    hits: list[Hit]
    weights: dict[str, float]  # qtf · idf per query term
    best_possible: float


def bm25(
    collection: Collection,
    query_terms: Counter[str],
    *,
    document_pks: list[int] | None,
    limit: int,
    budget: QueryBudget,
    second: Counter[str] | None = None,
) -> Ranking:
    """The ``limit`` best passages, best first (ties by passage id). ``second``: the
    query's second terms and their (fractional) counts; one the collection lacks is
    neither looked up for spelling nor counted in the best possible score."""
    budget.check()
    if not query_terms or not collection.chunk_count or document_pks == []:
        return Ranking([], {}, 1.0)
    second = Counter({t: c for t, c in (second or {}).items() if t not in query_terms})
    n = collection.chunk_count
    avgdl = max(collection.total_length / n, 1.0)
    terms = sorted(query_terms | second)
    dfs = _document_frequencies(collection.pk, terms)
    weights = {t: (query_terms[t] or second[t]) * idf(n, dfs.get(t, 0)) for t in terms}
    weights = {t: w for t, w in weights.items() if t in query_terms or dfs.get(t)}
    terms = sorted(weights)
    best_possible = sum(weights.values()) * (K1 + 1)
    absent = [t for t in query_terms if not dfs.get(t)]  # in query order
    relatives = spelling_relatives(collection.pk, absent, budget)
    stand_ins = sorted({c for found in relatives.values() for c in found} - set(terms))
    if stand_ins:
        dfs.update(_document_frequencies(collection.pk, stand_ins))
        for absent, found in relatives.items():
            for candidate in found:
                if candidate in stand_ins and dfs.get(candidate):
                    weight = query_terms[absent] * idf(n, dfs[candidate]) * FUZZY_WEIGHT
                    weights[candidate] = max(weights.get(candidate, 0.0), weight)
        terms = sorted(set(terms) | {c for c in stand_ins if c in weights})
    present = [t for t in terms if dfs.get(t)]
    if not present:
        return Ranking([], weights, best_possible)
    budget.check()
    # Every float is cast: PostgreSQL would otherwise take a bound literal as numeric
    # (exact decimals) while SQLite computes in doubles.
    f = "CAST(%s AS DOUBLE PRECISION)"
    case = " ".join(f"WHEN %s THEN {f}" for _ in present)
    params: list = [v for t in present for v in (t, weights[t])]
    params += [K1 + 1, K1, 1 - B, B / avgdl, collection.pk, *present]
    scope = ""
    if document_pks is not None:
        scope = f"AND document_id IN ({', '.join(['%s'] * len(document_pks))})"
        params += document_pks
    # A few more rows than asked: the final order is settled in Python with a rounded
    # score so that the last bits of float summation never split the two backends.
    fetch = limit * 2 + 10
    sql = (
        f"SELECT chunk_id, SUM((CASE term {case} END) * tf * {f} "
        f"/ (tf + {f} * ({f} + {f} * chunk_length))) AS score "
        f"FROM {POSTINGS} WHERE collection_id = %s "
        f"AND term IN ({', '.join(['%s'] * len(present))}) {scope} "
        f"GROUP BY chunk_id ORDER BY score DESC, chunk_id LIMIT {int(fetch)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    hits = [Hit(chunk_id, float(raw), float(raw) / best_possible) for chunk_id, raw in rows]
    hits.sort(key=lambda h: (-round(h.raw, 9), h.chunk_id))
    return Ranking(hits[:limit], weights, best_possible)


def proximity_rerank(
    ranking: Ranking, query_sequence: list[str], texts: dict[int, str]
) -> list[Hit]:
    """Add a bonus for query words that stand next to each other in the passage too.

    Each adjacent pair of query terms (stop words skipped on both sides) found adjacent
    in the passage adds ``PROXIMITY_WEIGHT`` × the smaller of the two terms' weights.
    The best possible score grows by the same bonus for every pair, so ``score`` stays
    in [0, 1).
    """
    pairs = {(a, b) for a, b in itertools.pairwise(query_sequence) if a != b}
    if not pairs or PROXIMITY_WEIGHT == 0:
        return ranking.hits

    def bonus(pair_set) -> float:
        return PROXIMITY_WEIGHT * sum(
            min(ranking.weights.get(a, 0.0), ranking.weights.get(b, 0.0)) for a, b in pair_set
        )

    best = ranking.best_possible + bonus(pairs)
    out = []
    for hit in ranking.hits:
        sequence = terms(texts.get(hit.chunk_id, ""))
        found = pairs.intersection(itertools.pairwise(sequence))
        raw = hit.raw + bonus(found)
        out.append(Hit(hit.chunk_id, raw, raw / best))
    out.sort(key=lambda h: (-round(h.raw, 9), h.chunk_id))
    return out


def fuse_dense(
    collection: Collection,
    lexical: list[Hit],
    query_vector: Sequence[float] | None,
    embedding_model: str,
    *,
    document_pks: list[int] | None,
    limit: int,
) -> list[Hit]:
    """The lexical and cosine rankings fused, each weighed by how much it can be trusted
    for this query (``dense.trusted_fusion``), only with a query vector; only passages
    that already carry a vector of the query's model take part in the cosine ranking."""
    if query_vector is None:
        return lexical[:limit]
    ids, scores = cosine_scores(
        collection.pk, embedding_model, query_vector, document_pks=document_pks
    )
    ranked = best(ids, scores, max(limit, dense.FUSION_DEPTH))
    cosine = dict(ranked)
    by_id = {h.chunk_id: h for h in lexical}
    fused = dense.trusted_fusion(
        [(h.chunk_id, h.score) for h in lexical], ranked, dense.dense_trust(scores)
    )
    out = []
    for chunk_id, _ in fused[:limit]:
        lexical_score = by_id[chunk_id].score if chunk_id in by_id else 0.0
        # Comparable across queries: the better of the two calibrated signals.
        score = max(lexical_score, max(cosine.get(chunk_id, 0.0), 0.0))
        out.append(Hit(chunk_id, by_id[chunk_id].raw if chunk_id in by_id else 0.0, score))
    return out


def snippet(text: str, query_terms: Counter[str]) -> tuple[str, bool]:
    """The passage around its densest run of query terms, and whether all were found.

    The snippet is a slice of the original text (matched words keep their spelling),
    cut at word boundaries, with ``…`` where it was trimmed.
    """
    spans = word_spans(text)
    wanted = set(query_terms)
    found = {t for _, _, terms in spans for t in terms if t in wanted}
    direct = bool(wanted) and found == wanted
    if len(spans) <= SNIPPET_WORDS:
        return text, direct
    hits = [i for i, (_, _, terms) in enumerate(spans) if wanted.intersection(terms)]
    best, best_count = 0, -1
    for i in hits:  # the window starting a little before a hit that holds the most terms
        start = max(0, min(i - 5, len(spans) - SNIPPET_WORDS))
        window = {t for _, _, terms in spans[start : start + SNIPPET_WORDS] for t in terms}
        count = len(window & wanted)
        if count > best_count:
            best, best_count = start, count
    end = min(best + SNIPPET_WORDS, len(spans)) - 1
    begin_char = spans[best][0] if best else 0
    end_char = spans[end][1] if end < len(spans) - 1 else len(text)
    out = text[begin_char:end_char].strip()
    return ("…" if best else "") + out + ("…" if end < len(spans) - 1 else ""), direct


def query_terms_of(query: str) -> tuple[list[str], Counter[str]]:
    """The query's terms in order, keeping only its first ``MAX_QUERY_TERMS`` distinct
    ones, and the second terms of those words with their weights (at most
    ``MAX_QUERY_TERMS`` of them, the first)."""
    words = analysed_words(query)
    kept = set(list(dict.fromkeys(term for term, _, _ in words))[:MAX_QUERY_TERMS])
    sequence = [term for term, _, _ in words if term in kept]
    second: Counter[str] = Counter()
    for term, exact, bare in words:
        if term not in kept:
            continue
        for found, weight in ((exact, EXACT_WEIGHT), (bare, BARE_PREFIX_WEIGHT)):
            if found and (found in second or len(second) < MAX_QUERY_TERMS):
                second[found] += weight
    return sequence, second


def search(
    collection: Collection,
    query: str,
    *,
    document_pks: list[int] | None,
    top_k: int,
    query_vector: Sequence[float] | None = None,
    embedding_model: str = "",
    budget: QueryBudget | None = None,
    with_text: bool = False,
) -> list[dict]:
    """The ``top_k`` best passages as the API's ``context`` entries; with ``query_vector``
    (made by ``embedding_model``) fused with the cosine ranking. ``with_text``: each entry
    also carries the whole passage as ``text`` (the vector-store search answers it)."""
    budget = budget or QueryBudget()
    sequence, second = query_terms_of(query)
    query_terms = Counter(sequence)
    ranking = bm25(
        collection,
        query_terms,
        document_pks=document_pks,
        limit=max(top_k, RERANK_DEPTH),
        budget=budget,
        second=second,
    )
    budget.check()
    rows = {
        row["id"]: row
        for row in Chunk.objects.filter(id__in=[h.chunk_id for h in ranking.hits]).values(
            "id", "title", "page_start", "page_end", "text", "document__doc_id"
        )
    }
    texts = {i: f"{row['title']}\n{row['text']}" for i, row in rows.items()}
    lexical = proximity_rerank(ranking, sequence, texts)
    hits = fuse_dense(
        collection,
        lexical,
        query_vector,
        embedding_model,
        document_pks=document_pks,
        limit=top_k,
    )
    missing = [h.chunk_id for h in hits if h.chunk_id not in rows]  # found by dense only
    if missing:
        rows.update(
            (row["id"], row)
            for row in Chunk.objects.filter(id__in=missing).values(
                "id", "title", "page_start", "page_end", "text", "document__doc_id"
            )
        )
    context = []
    for hit in hits:
        row = rows.get(hit.chunk_id)
        if row is None:  # deleted between the two queries
            continue
        text, direct = snippet(row["text"], query_terms)
        entry = {
            "title": row["title"],
            "page_start": row["page_start"],
            "page_end": row["page_end"],
            "score": round(hit.score, 4),
            "snippet": text,
            "is_direct_hit": direct,
            "document_id": row["document__doc_id"],
        }
        if with_text:
            entry["text"] = row["text"]
        context.append(entry)
    return context
