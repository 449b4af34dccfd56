"""Collections of documents, their pages and passages, and the search index.

The index lives in the database so every web process and worker serves the same one:
``Posting`` rows (collection, term, chunk, tf, chunk length) are written and deleted
per document, and the collection's BM25 statistics (passage count, total length) are
kept on the ``Collection`` row with ``F()`` updates in the same transaction, so adding
or removing a document never rebuilds the collection. Document frequencies are counted
from the postings at query time (an index range count), so they are never stale.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.utils import timezone

from ground.money import money_field


def new_public_id() -> str:
    return secrets.token_hex(16)


def new_file_id() -> str:
    return "file-" + secrets.token_hex(12)


def new_batch_id() -> str:
    return "vsfb_" + secrets.token_hex(16)


class Collection(models.Model):
    collection_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="retrieval_collections"
    )
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # BM25 statistics over the collection's indexed passages.
    chunk_count = models.PositiveIntegerField(default=0)
    total_length = models.PositiveBigIntegerField(default=0)
    # The vector-store face (OpenAI's shapes): up to 16 pairs of text; the expiry policy
    # ``{"anchor": "last_active_at", "days": n}`` as given, and the last search.
    metadata = models.JSONField(default=dict, blank=True)
    expires_after = models.JSONField(null=True, blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return self.name or self.collection_id

    @property
    def vector_store_id(self) -> str:
        return "vs_" + self.collection_id


class File(models.Model):
    """An uploaded file (``/v1/files``): the bytes as sent, checked like retrieval's ingest
    when they arrived. Attaching it to a vector store (a collection) makes a ``Document``
    from these bytes; every document has its file (an alRetrieval ingest makes one too)."""

    class Purpose(models.TextChoices):
        ASSISTANTS = "assistants"
        USER_DATA = "user_data"

    file_id = models.CharField(max_length=40, unique=True, default=new_file_id)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="retrieval_files"
    )
    filename = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=100)
    bytes = models.PositiveBigIntegerField(default=0)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.ASSISTANTS)
    stored_file = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["owner", "created_at"])]

    def __str__(self) -> str:
        return self.filename


class FileBatch(models.Model):
    """Files attached to one vector store in one call (``…/file_batches``)."""

    batch_id = models.CharField(max_length=40, unique=True, default=new_batch_id)
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="batches")
    created_at = models.DateTimeField(default=timezone.now)
    # Cancelling removes the batch's files still being processed; how many, for its counts.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_files = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.batch_id


class Document(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        PROCESSING = "processing"
        READY = "ready"
        ERROR = "error"

    doc_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="documents")
    # The file it was made from (its vector-store file id is the file's id). The file owns
    # the stored bytes; SET_NULL, never a cascade: a document goes through
    # ``retrieval.documents.delete_document`` (its postings have no foreign key).
    file = models.ForeignKey(
        File, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    batch = models.ForeignKey(
        FileBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    attributes = models.JSONField(default=dict, blank=True)
    # {} (auto: page-and-section passages) or {"max_chunk_size_tokens", "chunk_overlap_tokens"}.
    chunking = models.JSONField(default=dict, blank=True)
    filename = models.CharField(max_length=255)
    title = models.CharField(max_length=500, blank=True)
    mime_type = models.CharField(max_length=100)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    pages = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    stored_file = models.CharField(max_length=500, blank=True)
    # PDFs are read by the OCR engine and charged per page like /v1/ocr: the ingest holds
    # the pages' price under this request id; reading settles it (units = pages read).
    billing_request_id = models.CharField(max_length=64, blank=True)
    page_price_usd = money_field(default=0)
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    billed = models.BooleanField(default=False)
    # The model that embeds its passages (dense retrieval); empty: lexical only. Vectors
    # come after the document is ready (retrieval.embedding_jobs): ``dense_status`` says
    # how far (pending → ready, or failed with ``dense_error``); empty when dense is off.
    embedding_model = models.CharField(max_length=200, blank=True)
    # The analyser (retrieval.text.ANALYSER_VERSION) that wrote its postings; documents
    # from an older one are analysed again (retrieval.reanalysis). 1: before versions.
    analyser_version = models.PositiveSmallIntegerField(default=1)
    dense_status = models.CharField(max_length=12, blank=True)
    dense_error = models.CharField(max_length=300, blank=True)
    # Passages with a vector of ``embedding_model``: progress, and (summed over a
    # collection) part of the version of its cached vector matrix (retrieval.vectors).
    embedded_passages = models.PositiveIntegerField(default=0)
    # For the embedding sweep (retrieval.embedding_jobs.sweep_embeddings): the last sign
    # of life of the embedding (queued, or a batch written) and how often a lost
    # embedding task was queued again.
    dense_progress_at = models.DateTimeField(null=True, blank=True)
    dense_requeues = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    indexed_at = models.DateTimeField(null=True, blank=True)
    # For the sweep (retrieval.indexing.sweep_documents): when its task was queued, the
    # last sign of life of the worker indexing it, how often a lost task was queued
    # again, and which claim of the document is the current one (a task that was given
    # up on writes nothing more).
    queued_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    requeues = models.PositiveSmallIntegerField(default=0)
    run = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["collection", "status"]),
            models.Index(fields=["status", "heartbeat_at"], name="retrieval_doc_sweep"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "file"], name="retrieval_document_file_once"
            )
        ]

    def __str__(self) -> str:
        return self.filename


class Page(models.Model):
    """Extracted text of one page; ``blocks`` keeps headings apart: ``[["h"|"p", text]]``."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="page_set")
    number = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    blocks = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="retrieval_page_unique")
        ]

    def __str__(self) -> str:
        return f"page {self.number}"


class Chunk(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="+")
    ordinal = models.PositiveIntegerField()
    page_start = models.PositiveIntegerField()
    page_end = models.PositiveIntegerField()
    title = models.CharField(max_length=500, blank=True)
    text = models.TextField()
    length = models.PositiveIntegerField()  # indexed terms (BM25 document length)
    # Dense retrieval (off unless RETRIEVAL_EMBEDDING_MODEL is set): float32 vector.
    embedding = models.BinaryField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["document", "ordinal"])]

    def __str__(self) -> str:
        return f"{self.title} (pages {self.page_start}-{self.page_end})"


class Posting(models.Model):
    """One term of one passage. ``chunk_length`` is copied here so ranking needs no join."""

    collection_id = models.BigIntegerField()
    document_id = models.BigIntegerField()
    chunk = models.ForeignKey(Chunk, on_delete=models.DO_NOTHING, db_constraint=False)
    term = models.CharField(max_length=64)
    tf = models.PositiveIntegerField()
    chunk_length = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["collection_id", "term", "document_id", "chunk", "tf", "chunk_length"],
                name="retrieval_posting_search",
            ),
            models.Index(fields=["document_id"], name="retrieval_posting_doc"),
        ]

    def __str__(self) -> str:
        return f"{self.term} x{self.tf}"


class Term(models.Model):
    """The collection's vocabulary: every index term once (for spelling-tolerant lookup of
    query words the collection lacks). Added at indexing; a term whose last document is
    deleted stays (harmless: its document frequency is counted from the postings)."""

    collection_id = models.BigIntegerField()
    term = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection_id", "term"], name="retrieval_term_unique")
        ]

    def __str__(self) -> str:
        return self.term


@receiver(pre_delete, sender=Collection)
def _drop_collection_postings(sender, instance: Collection, **kwargs) -> None:
    # Postings carry plain ids (no foreign key, so deleting a passage costs no cascade
    # lookup); a collection deleted by cascade (its owner deleted) takes them along here.
    Posting.objects.filter(collection_id=instance.pk).delete()
    Term.objects.filter(collection_id=instance.pk).delete()
