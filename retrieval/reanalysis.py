"""Rewriting the postings of documents indexed by an older analyser.

A change to ``retrieval.text``'s analyser changes the terms a text gives, so a query
analysed today would miss words of a document whose postings an older analyser wrote.
Each document records the analyser that wrote its postings (``analyser_version``);
``reanalyse_stale`` rewrites, for every ready document of an older version, the
postings of its passages from their stored text — the passages themselves, their
pages and their vectors stay (nothing is read, extracted, charged or embedded again) —
and the collection's BM25 length statistics with them. ``manage.py reanalyse_documents``
runs it (``bin/run`` does, after ``migrate``).

A document is rewritten in transactions of ``BATCH_PASSAGES`` passages, like indexing,
so other writers get in between; it stays ``ready`` and searchable throughout (its
passages not yet rewritten are found by the terms both analysers agree on). A document
that is re-ingested or deleted meanwhile is left to its new indexing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.db.models import F

from retrieval.index import BATCH_PASSAGES
from retrieval.models import Chunk, Collection, Document, Posting, Term
from retrieval.text import ANALYSER_VERSION, index_terms, is_exact


def stale_documents():
    """Ready documents whose postings an older analyser wrote."""
    return Document.objects.filter(
        status=Document.Status.READY, analyser_version__lt=ANALYSER_VERSION
    ).order_by("pk")


def _still_ready(document: Document) -> bool:
    return (
        Document.objects.select_for_update()
        .filter(pk=document.pk, status=Document.Status.READY)
        .exists()
    )


def reanalyse_document(document: Document) -> bool:
    """Rewrite the document's postings with today's analyser; False when it stopped
    being ready on the way (deleted, or queued to be indexed again)."""
    last = 0
    while True:
        with transaction.atomic():
            if not _still_ready(document):
                return False
            chunks = list(
                Chunk.objects.filter(document=document, id__gt=last)
                .order_by("id")
                .only("id", "title", "text", "length")[:BATCH_PASSAGES]
            )
            if not chunks:
                Document.objects.filter(pk=document.pk).update(analyser_version=ANALYSER_VERSION)
                return True
            _rewrite(document, chunks)
            last = chunks[-1].pk


def _rewrite(document: Document, chunks: list[Chunk]) -> None:
    postings, vocabulary, delta = [], set(), 0
    for chunk in chunks:
        tf, length = index_terms(f"{chunk.title}\n{chunk.text}")
        delta += length - chunk.length
        chunk.length = length
        vocabulary.update(term for term in tf if not is_exact(term))
        postings.extend(
            Posting(
                collection_id=document.collection_id,
                document_id=document.pk,
                chunk_id=chunk.pk,
                term=term,
                tf=count,
                chunk_length=length,
            )
            for term, count in tf.items()
        )
    Posting.objects.filter(document_id=document.pk, chunk_id__in=[c.pk for c in chunks]).delete()
    Chunk.objects.bulk_update(chunks, ["length"], batch_size=500)
    Posting.objects.bulk_create(postings, batch_size=2000)
    Term.objects.bulk_create(
        [Term(collection_id=document.collection_id, term=term) for term in vocabulary],
        batch_size=2000,
        ignore_conflicts=True,
    )
    if delta:
        Collection.objects.filter(pk=document.collection_id).update(
            total_length=F("total_length") + delta
        )


def reanalyse_stale(
    limit: int | None = None, progress: Callable[[Document, bool], None] | None = None
) -> int:
    """Re-analyse the stale documents (at most ``limit``), oldest first; returns how
    many were rewritten. ``progress`` is told of each document as it is done."""
    done = 0
    pks = list(stale_documents().values_list("pk", flat=True)[:limit])
    for document in Document.objects.filter(pk__in=pks).order_by("pk"):
        rewritten = reanalyse_document(document)
        done += rewritten
        if progress is not None:
            progress(document, rewritten)
    return done
