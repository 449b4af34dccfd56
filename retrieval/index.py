"""Writing and removing one document's passages and postings, incrementally.

``index_document`` replaces whatever the document had in the index (so a redelivered
task or a re-ingest never counts twice), writes the new entries in bounded
transactions and adjusts the collection's BM25 statistics with ``F()`` updates in each;
the document turns ``ready`` in the last one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from accounts.snapshots import payer_context
from retrieval import dense
from retrieval.chunking import ChunkSpec, chunk_pages, chunk_static
from retrieval.embedding import EmbeddingUnavailable, Payer
from retrieval.models import Chunk, Collection, Document, Page, Posting, Term
from retrieval.text import ANALYSER_VERSION, index_terms, is_exact

log = logging.getLogger(__name__)
# Passages written per transaction: ~180 words each, so ~20,000 postings, a fraction of
# a second of SQLite's write lock.
BATCH_PASSAGES = 200


@dataclass
class Prepared:
    specs: list[ChunkSpec]
    vectors: list = field(default_factory=list)
    embedding_model: str = ""


def remove_from_index(document: Document) -> None:
    """Drop the document's passages and postings and give back its statistics."""
    chunks = Chunk.objects.filter(document=document)
    stats = chunks.aggregate(n=Count("id"), total=Sum("length"))
    Posting.objects.filter(document_id=document.pk).delete()
    chunks.delete()
    _give_back(document, stats)


def _give_back(document: Document, stats: dict) -> None:
    if stats["n"]:
        Collection.objects.filter(pk=document.collection_id).update(
            chunk_count=F("chunk_count") - stats["n"],
            total_length=F("total_length") - (stats["total"] or 0),
        )


def remove_in_batches(document: Document, run: int | None = None) -> bool:
    """``remove_from_index`` in transactions of ``BATCH_PASSAGES`` passages, so that
    other writers get in between; False (stopped) when the document went or was
    claimed again (``run``)."""
    while True:
        with transaction.atomic():
            if not _still_there(document, run):
                return False
            batch = Chunk.objects.filter(document=document).order_by("id")[:BATCH_PASSAGES]
            ids = list(batch.values_list("id", flat=True))
            if not ids:
                return True
            chunks = Chunk.objects.filter(id__in=ids)
            stats = chunks.aggregate(n=Count("id"), total=Sum("length"))
            Posting.objects.filter(document_id=document.pk, chunk_id__in=ids).delete()
            chunks.delete()
            _give_back(document, stats)


def embed_text(spec: ChunkSpec) -> str:
    return f"{spec.title}\n{spec.text}"


def prepare_index(document: Document) -> Prepared:
    """The document's passages and, when dense retrieval is on, their vectors."""
    pages = [
        [tuple(block) for block in blocks]
        for blocks in Page.objects.filter(document=document)
        .order_by("number")
        .values_list("blocks", flat=True)
    ]
    static = document.chunking or {}
    if static.get("max_chunk_size_tokens"):
        specs = chunk_static(
            pages,
            static["max_chunk_size_tokens"],
            static.get("chunk_overlap_tokens", 0),
            title=document.title,
        )
    else:
        specs = chunk_pages(pages, default_title=document.title)
    prepared = Prepared(specs)
    embedder = dense.active_embedder()
    if embedder is None or not prepared.specs or not dense.enabled():
        return prepared
    owner_id = document.collection.owner_id
    payer_ctx = payer_context(owner_id, document.api_key_id)
    if payer_ctx is None or payer_ctx.refuses_model(embedder.model):
        # Admitted now, when the money is spent: the account (or key) may not use the
        # embedding model, so the document is found lexically only.
        log.info("Document %s is indexed without vectors: %s", document.doc_id, "not allowed")
        return prepared
    payer = Payer(owner_id, document.api_key_id)
    try:
        prepared.vectors = embedder.embed([embed_text(s) for s in prepared.specs], payer)
    except EmbeddingUnavailable as exc:
        log.warning(
            "Document %s is indexed without vectors (lexical search only): %s",
            document.doc_id,
            exc.reason,
        )
        return prepared
    prepared.embedding_model = embedder.model
    return prepared


def _still_there(document: Document, run: int | None) -> bool:
    """Lock the document's row (serialising with ``delete_document``): no postings are
    written for a document that is gone, or that another task has claimed since
    (``run``: see ``retrieval.indexing.claim``)."""
    rows = Document.objects.select_for_update().filter(pk=document.pk)
    return (rows if run is None else rows.filter(run=run)).exists()


def index_document(
    document: Document,
    prepared: Prepared | None = None,
    *,
    run: int | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> int:
    """Write the passages and postings (``prepare_index``'s, or made now) in
    transactions of ``BATCH_PASSAGES`` passages each, so that other writers get in
    between (SQLite has one writer at a time); returns the passage count.

    Each batch adds its passages' statistics to the collection in its own transaction,
    so the statistics always match the postings; the document turns ``ready`` in the
    last one. Until then its postings are not searched (``querying`` scopes a search to
    ready documents while others exist)."""
    if prepared is None:
        prepared = prepare_index(document)
    specs, vectors = prepared.specs, prepared.vectors
    if not remove_in_batches(document, run):  # what a previous run wrote
        return 0
    for start in range(0, len(specs), BATCH_PASSAGES):
        with transaction.atomic():
            if not _still_there(document, run):
                return start
            _write_batch(document, specs, vectors, start, start + BATCH_PASSAGES)
        if heartbeat is not None:
            heartbeat()
    with transaction.atomic():
        if _still_there(document, run):
            Document.objects.filter(pk=document.pk).update(
                status=Document.Status.READY,
                error="",
                indexed_at=timezone.now(),
                embedding_model=prepared.embedding_model,
                analyser_version=ANALYSER_VERSION,
            )
    return len(specs)


def _write_batch(document: Document, specs: list[ChunkSpec], vectors: list, start: int, end: int):
    chunks = []
    counts = []
    for ordinal in range(start, min(end, len(specs))):
        spec = specs[ordinal]
        # The section title is part of what a passage is about.
        tf, length = index_terms(f"{spec.title}\n{spec.text}")
        counts.append(tf)
        chunks.append(
            Chunk(
                document=document,
                collection_id=document.collection_id,
                ordinal=ordinal,
                page_start=spec.page_start,
                page_end=spec.page_end,
                title=spec.title[:500],
                text=spec.text,
                length=length,
                embedding=dense.encode(vectors[ordinal]) if vectors else None,
            )
        )
    Chunk.objects.bulk_create(chunks, batch_size=500)
    if not all(c.pk for c in chunks):  # backends that do not return ids
        chunks = list(
            Chunk.objects.filter(document=document, ordinal__gte=start, ordinal__lt=end).order_by(
                "ordinal"
            )
        )
    postings = [
        Posting(
            collection_id=document.collection_id,
            document_id=document.pk,
            chunk_id=chunk.pk,
            term=term,
            tf=count,
            chunk_length=chunk.length,
        )
        for chunk, tf in zip(chunks, counts, strict=True)
        for term, count in tf.items()
    ]
    Posting.objects.bulk_create(postings, batch_size=2000)
    vocabulary = {term for tf in counts for term in tf if not is_exact(term)}
    Term.objects.bulk_create(
        [Term(collection_id=document.collection_id, term=term) for term in vocabulary],
        batch_size=2000,
        ignore_conflicts=True,
    )
    Collection.objects.filter(pk=document.collection_id).update(
        chunk_count=F("chunk_count") + len(chunks),
        total_length=F("total_length") + sum(c.length for c in chunks),
    )
