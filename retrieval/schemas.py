"""What ``/v1/alRetrieval`` takes and answers, as ninja ``Schema``s (after API.md).

The request models are the one check of a request's shape (``ground.bodies`` maps their
errors to the API's error format); the answers describe what the flows return, for the
OpenAPI document (``tests/contract`` checks real answers against it).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, Field

from ground.bodies import JsonInt, text
from ground.text import clean_text
from retrieval.querying import DEFAULT_TOP_K, MAX_QUERY_CHARS, MAX_TOP_K

MAX_NAME_CHARS = 200
MAX_DOC_IDS = 1000
DOC_ID_CHARS = 64

# A document id from the client: cleaned (no NUL reaches a query) and cut to the length
# of real ids, so a hostile one is simply not found (404).
DocId = Annotated[str, AfterValidator(lambda value: clean_text(value)[:DOC_ID_CHARS])]
CollectionName = text(MAX_NAME_CHARS)
QueryText = text(MAX_QUERY_CHARS, required=True)
TopK = Annotated[JsonInt, Field(ge=1, le=MAX_TOP_K)]
DocIds = Annotated[list[DocId], Field(max_length=MAX_DOC_IDS)]


# --- Requests -----------------------------------------------------------------------------------
class CollectionCreate(Schema):
    name: CollectionName | None = Field(
        None, description="Optional display name (at most 200 characters)."
    )


class PagesIngest(Schema):
    """Pre-extracted pages, one string each (the JSON form of ingest)."""

    title: str | None = Field(None, description="The document's title (cut to 500 characters).")
    filename: str | None = Field(None, description="A file name to show for the document.")
    pages: list[str] = Field(
        description="The document's pages, one string each; page and size limits apply (413)."
    )


class FileIngest(Schema):
    """The text fields of a multipart ingest (none besides the file today)."""


class RetrievalQuery(Schema):
    query: QueryText = Field(
        description=f"What to look for (at most {MAX_QUERY_CHARS} characters)."
    )
    doc_ids: DocIds | None = Field(
        None,
        description="Search only these documents (each must be in the collection: else 404).",
    )
    top_k: TopK = Field(
        DEFAULT_TOP_K, description=f"How many passages to answer, 1 to {MAX_TOP_K}."
    )
    filters: dict[str, Any] | None = Field(
        None,
        description="Search only documents whose attributes match: OpenAI's comparison "
        "filter (`type` eq, ne, gt, gte, lt, lte, in, nin; `key`; `value`) or compound "
        "filter (`type` and/or; `filters`), at most 5 levels deep.",
    )


# --- Answers ------------------------------------------------------------------------------------
class CollectionCreated(Schema):
    collection_id: str
    name: str


class CollectionInfo(Schema):
    collection_id: str
    name: str
    created_at: str = Field(description="ISO 8601, UTC (`Z`).")
    dense_retrieval: bool = Field(
        description="Whether queries fuse a cosine ranking in (an embedding model is on)."
    )
    embedding_model: str | None = Field(
        None, description="The embedding model of dense retrieval; null when it is off."
    )


class CollectionList(Schema):
    collections: list[CollectionInfo] = Field(description="Newest first.")


class CollectionDeleted(Schema):
    collection_id: str
    deleted: bool


class IngestAccepted(Schema):
    id: str = Field(description="The document's id (`doc_id`).")
    status: Literal["queued"]
    pages: int
    collection: str


class DocumentInfo(Schema):
    doc_id: str
    filename: str
    title: str
    status: Literal["processing", "ready", "error"]
    mime_type: str
    pages: int
    dense_retrieval: bool = Field(description="Some of its passages carry vectors of the model.")
    dense_status: Literal["off", "pending", "ready", "failed"] = Field(
        description="The passages' vectors, which come after the document is ready "
        "(searchable lexically at once): off (dense retrieval off), pending (being "
        "embedded: queries use the vectors made so far), ready, failed (see dense_error; "
        "found lexically only)."
    )
    embedded_passages: int = Field(description="Passages that carry a vector.")
    passages: int
    dense_error: str | None = None
    file_url: str | None = Field(description="A download link that expires in one hour.")
    created_at: str


class DocumentList(Schema):
    collection_id: str
    dense_retrieval: bool
    documents: list[DocumentInfo] = Field(description="Newest first.")


class DocumentStatus(Schema):
    doc_id: str
    status: Literal["processing", "ready", "error"]
    error: str | None
    pages: int
    pages_read: int = Field(
        description="Pages whose text is in hand: a PDF's pages read by OCR so far while "
        "it is processing; every page for other formats."
    )
    dense_status: Literal["off", "pending", "ready", "failed"] = Field(
        description="The passages' vectors, which come after the document is ready "
        "(searchable lexically at once): off (dense retrieval off), pending (being "
        "embedded: queries use the vectors made so far), ready, failed (see dense_error; "
        "found lexically only)."
    )
    embedded_passages: int = Field(description="Passages that carry a vector.")
    passages: int
    dense_error: str | None = None


class DocumentDeleted(Schema):
    doc_id: str
    deleted: bool


class Passage(Schema):
    title: str
    page_start: int
    page_end: int
    score: float
    snippet: str
    is_direct_hit: bool
    document_id: str


class QueryAnswer(Schema):
    context: list[Passage] = Field(description="The passages that best answer the query.")
    effective_scope_doc_ids: list[str]
    dense_retrieval: bool = Field(description="Whether a cosine ranking was fused in.")
    note: str | None = Field(
        None, description="Why dense ranking was skipped for this query, when it was."
    )
