"""A collection's passage vectors as one float32 matrix, cached in the process.

Brute force: a query's cosines are one matrix-vector product over the passages that
carry a vector of the query's model (10,000 passages × 384 floats: ~15 MB, well under a
few milliseconds to multiply; see docs/retrieval.md for the measurements). Reading the
vectors from the database is what costs (about a second at 10,000 passages on a busy
machine), so the matrix is kept per (collection, model) and read again only when its
version changes: over the collection's documents embedded by the model, their count,
highest id, latest indexing time and the sum of their ``embedded_passages`` — one
aggregate over a few document rows per query, never over the passages. Vectors
written, a document added, deleted, indexed again or re-embedded change it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Max, Sum

from retrieval.models import Chunk, Document

CACHED_COLLECTIONS = 16


@dataclass(frozen=True)
class Matrix:
    version: tuple
    ids: np.ndarray  # passage ids (int64)
    documents: np.ndarray  # their documents' ids (int64)
    vectors: np.ndarray  # passages × dimensions, float32, unit rows


_cache: OrderedDict[tuple[int, str, int], Matrix] = OrderedDict()
_lock = threading.Lock()


def _rows(collection_pk: int, model: str):
    return Chunk.objects.filter(
        collection_id=collection_pk,
        embedding__isnull=False,
        document__embedding_model=model,
    )


def version(collection_pk: int, model: str) -> tuple:
    return tuple(
        Document.objects.filter(collection_id=collection_pk, embedding_model=model)
        .aggregate(
            n=Count("id"),
            top=Max("id"),
            indexed=Max("indexed_at"),
            embedded=Sum("embedded_passages"),
        )
        .values()
    )


def collection_matrix(collection_pk: int, model: str, dimensions: int) -> Matrix:
    """The passages of the collection embedded by ``model`` (vectors of ``dimensions``)."""
    version_now = version(collection_pk, model)
    key = (collection_pk, model, dimensions)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached.version == version_now:
            _cache.move_to_end(key)
            return cached
    ids, documents, blobs = [], [], []
    width = dimensions * 4
    for chunk_id, document_id, blob in _rows(collection_pk, model).values_list(
        "id", "document_id", "embedding"
    ):
        # A vector of another size was made by another model: not comparable.
        if blob is not None and len(blob) == width:
            ids.append(chunk_id)
            documents.append(document_id)
            blobs.append(bytes(blob))
    vectors = (
        np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dimensions)
        if blobs
        else np.zeros((0, dimensions), dtype=np.float32)
    )
    matrix = Matrix(version_now, np.array(ids, dtype=np.int64), np.array(documents), vectors)
    with _lock:
        _cache[key] = matrix
        _cache.move_to_end(key)
        while len(_cache) > CACHED_COLLECTIONS:
            _cache.popitem(last=False)
    return matrix


def cosine_scores(
    collection_pk: int,
    model: str,
    query_vector: Sequence[float],
    *,
    document_pks: list[int] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The passages in scope that carry a vector of ``model`` (ids) and their cosine with
    the query, in no particular order."""
    query = np.asarray(query_vector, dtype=np.float32)
    norm = float(np.linalg.norm(query))
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
    if not norm:
        return empty
    matrix = collection_matrix(collection_pk, model, query.size)
    vectors, ids = matrix.vectors, matrix.ids
    if document_pks is not None:
        keep = np.isin(matrix.documents, np.asarray(document_pks, dtype=np.int64))
        vectors, ids = vectors[keep], ids[keep]
    if not ids.size:
        return empty
    return ids, vectors @ (query / norm)


def best(ids: np.ndarray, scores: np.ndarray, depth: int) -> list[tuple[int, float]]:
    """The ``depth`` best ``(id, cosine)``, best first (ties: lower id first)."""
    if scores.size > depth:
        top = np.argpartition(-scores, depth - 1)[:depth]
    else:
        top = np.arange(scores.size)
    order = sorted(top.tolist(), key=lambda i: (-float(scores[i]), int(ids[i])))
    return [(int(ids[i]), float(scores[i])) for i in order]
