"""Writing and removing one document's passages and postings, incrementally.

``index_document`` replaces whatever the document had in the index (so a redelivered
task or a re-ingest never counts twice), writes the new entries in bounded
transactions and adjusts the collection's BM25 statistics with ``F()`` updates in each;
the document turns ``ready`` in the last one, and its vectors (dense retrieval) are
queued then (``retrieval.embedding_jobs``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils import timezone

from retrieval.chunking import ChunkSpec, chunk_pages, chunk_static
from retrieval.embedding_jobs import start_embedding
from retrieval.models import Chunk, Collection, Document, Page, Posting, Term
from retrieval.text import ANALYSER_VERSION, index_terms, is_exact

log = logging.getLogger(__name__)
# Passages written per transaction: ~180 words each, so ~20,000 postings, a fraction of
# a second of SQLite's write lock.
BATCH_PASSAGES = 200


@dataclass
class Prepared:
    specs: list[ChunkSpec]


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


def prepare_index(document: Document) -> Prepared:
    """The document's passages (their vectors come later: ``retrieval.embedding_jobs``)."""
    pages = [
        [tuple(block) for block in blocks]
        for blocks in Page.objects.filter(document=document)
        .order_by("number")
        .values_list("blocks", flat=True)
    ]
    static = document.chunking or {}
    if static.get("max_chunk_size_tokens"):
        return Prepared(
            chunk_static(
                pages,
                static["max_chunk_size_tokens"],
                static.get("chunk_overlap_tokens", 0),
                title=document.title,
            )
        )
    return Prepared(chunk_pages(pages, default_title=document.title))


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
    specs = prepared.specs
    if not remove_in_batches(document, run):  # what a previous run wrote
        return 0
    for start in range(0, len(specs), BATCH_PASSAGES):
        with transaction.atomic():
            if not _still_there(document, run):
                return start
            _write_batch(document, specs, start, start + BATCH_PASSAGES)
        if heartbeat is not None:
            heartbeat()
    with transaction.atomic():
        if _still_there(document, run):
            Document.objects.filter(pk=document.pk).update(
                status=Document.Status.READY,
                error="",
                indexed_at=timezone.now(),
                analyser_version=ANALYSER_VERSION,
            )
            start_embedding(document)  # searchable now; vectors follow in their own task
    return len(specs)


def _write_batch(document: Document, specs: list[ChunkSpec], start: int, end: int):
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
