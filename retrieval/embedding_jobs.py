"""A ready document's passages gain their vectors: in the worker, in batches, after the
lexical index (``retrieval.index``) made the document searchable.

``queue_embedding`` (on commit) runs ``embed_document`` in a task of its own. Each
batch of ``EMBED_BATCH`` passages is one call through the gateway (one usage event,
charged to the collection's owner) and one short transaction that writes the vectors;
queries use every vector written so far (``dense_status`` ``pending`` with
``embedded_passages`` growing, then ``ready``). The embedding model may refuse or fail:
``dense_status`` ``failed`` with ``dense_error`` says why, and the document stays found
lexically.

A task lost mid-way (its worker killed, the broker lost it, it was never delivered)
would leave the document ``pending`` for ever: each written batch (and the queuing)
marks ``dense_progress_at``, and ``sweep_embeddings`` (a beat task) queues the embedding
again for a document pending with no sign of life for ``RETRIEVAL_EMBED_LOST_SECONDS``;
it starts where the lost one stopped (passages without a vector). After
``RETRIEVAL_RETRY_CAP`` lost tasks the document is ``failed`` (still found lexically).
A batch is written only to passages still without a vector, so a task that was thought
lost but still runs never counts a passage twice.

``prepare_reembedding`` starts over with another model (or the same one): the document's
vectors are dropped and its ``embedding_model`` set first, so a query never compares
vectors of two models. ``manage.py reembed`` runs it for a collection or for all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.snapshots import payer_context
from retrieval import dense
from retrieval.embedding import EmbeddingUnavailable, Payer
from retrieval.models import Chunk, Document
from retrieval.queueing import queue_embedding

log = logging.getLogger(__name__)
EMBED_BATCH = 32  # ~10 s of the built-in model on a busy core: progress shows often
PENDING, READY, FAILED = "pending", "ready", "failed"


def start_embedding(document: Document) -> None:
    """Called as the document turns ready (inside that transaction): vectors follow."""
    model = dense.configured_model() if dense.enabled() else None
    Document.objects.filter(pk=document.pk).update(
        embedding_model=model or "",
        dense_status=PENDING if model else "",
        dense_error="",
        embedded_passages=0,
        dense_progress_at=timezone.now() if model else None,
        dense_requeues=0,
    )
    if model:
        queue_embedding(document.pk)


def prepare_reembedding(document_pk: int, model: str, *, keep: bool = False) -> None:
    """Set the document to be embedded with ``model``; its vectors go first unless they
    are ``model``'s and ``keep`` (resuming an unfinished embedding)."""
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(pk=document_pk).first()
        if document is None:
            return
        fields = {
            "embedding_model": model,
            "dense_status": PENDING,
            "dense_error": "",
            "dense_progress_at": timezone.now(),
            "dense_requeues": 0,
        }
        if not (keep and document.embedding_model == model):
            Chunk.objects.filter(document=document).update(embedding=None)
            fields["embedded_passages"] = 0
        Document.objects.filter(pk=document_pk).update(**fields)


def embed_document(document_pk: int, progress: Callable[[int, int], None] | None = None) -> str:
    """Embed the passages of the document that have no vector yet, batch by batch, with
    the document's ``embedding_model``; returns the final ``dense_status``."""
    document = Document.objects.select_related("collection").filter(pk=document_pk).first()
    if document is None or document.status != Document.Status.READY:
        return ""
    model = document.embedding_model
    if not model or document.dense_status == READY:
        return document.dense_status
    owner_id = document.collection.owner_id
    payer_ctx = payer_context(owner_id, document.api_key_id)
    if payer_ctx is None or payer_ctx.refuses_model(model):
        # Admitted when the money is spent: the owner (or key) may not use the model.
        return _finish(document, model, FAILED, f"The account may not use {model}.")
    embedder = dense.embedder_for(model)
    payer = Payer(owner_id, document.api_key_id)
    total = Chunk.objects.filter(document=document).count()
    while True:
        batch = list(
            Chunk.objects.filter(document=document, embedding__isnull=True)
            .order_by("ordinal")
            .values_list("id", "title", "text")[:EMBED_BATCH]
        )
        if not batch:
            return _finish(document, model, READY, "")
        try:
            vectors = embedder.embed(
                [f"{title}\n{text}" for _, title, text in batch], payer, input_type="passage"
            )
        except EmbeddingUnavailable as exc:
            log.warning("Document %s keeps lexical search only: %s", document.doc_id, exc.reason)
            return _finish(document, model, FAILED, exc.reason)
        with transaction.atomic():
            if not _still_embedding(document, model):
                return ""  # deleted, indexed again or given another model meanwhile
            # Only passages still without one: a task thought lost that still runs
            # beside its replacement never counts a passage twice.
            written = sum(
                Chunk.objects.filter(pk=chunk_id, document=document, embedding__isnull=True).update(
                    embedding=dense.encode(vector)
                )
                for (chunk_id, _, _), vector in zip(batch, vectors, strict=True)
            )
            Document.objects.filter(pk=document.pk).update(
                embedded_passages=F("embedded_passages") + written,
                dense_progress_at=timezone.now(),
            )
        if progress is not None:
            done = Document.objects.filter(pk=document.pk).values_list(
                "embedded_passages", flat=True
            )
            progress(done.first() or 0, total)


def sweep_embeddings(now: datetime | None = None, limit: int = 200) -> int:
    """Queue again the embedding of documents left ``pending`` with no sign of life for
    ``RETRIEVAL_EMBED_LOST_SECONDS``; after ``RETRIEVAL_RETRY_CAP`` lost tasks, mark them
    ``failed``. Answers how many documents it acted on."""
    now = now or timezone.now()
    lost = now - timedelta(seconds=settings.RETRIEVAL_EMBED_LOST_SECONDS)
    stale = Q(dense_progress_at__lt=lost) | Q(dense_progress_at__isnull=True, created_at__lt=lost)
    pending = (
        Document.objects.filter(stale, status=Document.Status.READY, dense_status=PENDING)
        .exclude(embedding_model="")
        .order_by("pk")
    )
    count = 0
    for document in pending[:limit]:
        # Only if nothing moved since it was read (a batch written, another sweep).
        unchanged = Document.objects.filter(
            pk=document.pk, dense_status=PENDING, dense_progress_at=document.dense_progress_at
        )
        with transaction.atomic():
            if document.dense_requeues >= settings.RETRIEVAL_RETRY_CAP:
                acted = unchanged.update(
                    dense_status=FAILED,
                    dense_error=f"Embedding stopped {document.dense_requeues + 1} times without "
                    "finishing (a worker stopped or the queue lost the task); the document is "
                    "found by its words. Run manage.py reembed --unfinished once workers run.",
                )
                if acted:
                    log.warning("Document %s: embedding lost too often, given up", document.doc_id)
            else:
                acted = unchanged.update(
                    dense_progress_at=now, dense_requeues=document.dense_requeues + 1
                )
                if acted:
                    queue_embedding(document.pk)
                    log.warning("Document %s: embedding task lost, queued again", document.doc_id)
        count += bool(acted)
    return count


def _still_embedding(document: Document, model: str) -> bool:
    return (
        Document.objects.select_for_update()
        .filter(pk=document.pk, status=Document.Status.READY, embedding_model=model)
        .exists()
    )


def _finish(document: Document, model: str, status: str, error: str) -> str:
    with transaction.atomic():
        if not _still_embedding(document, model):
            return ""
        Document.objects.filter(pk=document.pk).update(dense_status=status, dense_error=error[:300])
    return status


def embedded_counts(documents) -> dict[int, tuple[int, int]]:
    """``{document pk: (passages with a vector, passages)}``, in one query (an index
    range per document: the vectors themselves are not read)."""
    embedded = {d.pk: d.embedded_passages for d in documents}
    rows = (
        Chunk.objects.filter(document__in=documents).values("document_id").annotate(n=Count("id"))
    )
    return {row["document_id"]: (embedded.get(row["document_id"], 0), row["n"]) for row in rows}


def dense_info(document: Document, counts: dict[int, tuple[int, int]]) -> dict:
    """What the API and the portal say of the document's vectors."""
    embedded, passages = counts.get(document.pk, (0, 0))
    return {
        "dense_status": document.dense_status or "off",
        "embedded_passages": embedded,
        "passages": passages,
        "dense_error": document.dense_error or None,
    }
