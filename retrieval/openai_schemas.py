"""What the Files and Vector Stores routes take and answer (OpenAI's shapes), as ninja
``Schema``s: the request models are the first check of a request's shape
(``ground.bodies``); limits OpenAI documents (16 attributes, key and value lengths,
filter operators and depth, chunk sizes) are checked by the use cases
(``retrieval.attributes``, ``retrieval.filters``, ``retrieval.vector_stores``) so the
portal and ``file_search`` share them. Portico's additions are marked."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StrictBool, StrictStr, WithJsonSchema

from ground.bodies import JsonInt, ascii_int, text
from retrieval.querying import MAX_QUERY_CHARS, MAX_TOP_K

Id = text(64)
# Names as sent: NUL and bidi controls are refused (400) by the use cases,
# never silently cleaned (``retrieval.attributes.check_plain_text``).
Name = Annotated[StrictStr, Field(max_length=200)]
# Checked by ``retrieval.attributes.check_attributes`` (one message and param per
# mistake, ``attributes.<key>``); described here as OpenAI documents it.
Attributes = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": 16,
            "propertyNames": {"maxLength": 64},
            "additionalProperties": {
                "anyOf": [
                    {"type": "string", "maxLength": 512},
                    {"type": "number"},
                    {"type": "boolean"},
                ]
            },
        }
    ),
]
Limit = ascii_int(ge=1, le=100)
ATTRIBUTES_HELP = (
    "At most 16 keys (64 characters each); values: strings of at most 512 characters, "
    "numbers or booleans."
)


# --- Requests -----------------------------------------------------------------------------------
class FileUpload(Schema):
    """The text fields of `POST /files` (the bytes come as the part `file`)."""

    purpose: Literal["assistants", "user_data"] = Field(
        description="Portico keeps files for retrieval: `assistants` or `user_data`."
    )


class ListQuery(Schema):
    after: Id | None = Field(None, description="The id of the last object seen.")
    limit: Limit | None = Field(None, description="1 to 100 (default 20).")
    order: Literal["asc", "desc"] | None = Field(None, description="By creation (default desc).")


class FileListQuery(ListQuery):
    purpose: Literal["assistants", "user_data"] | None = None


class VectorStoreFileListQuery(ListQuery):
    filter: Literal["in_progress", "completed", "failed", "cancelled"] | None = None


class StaticSizes(Schema):
    max_chunk_size_tokens: JsonInt = Field(description="100 to 4096 (a word counts as a token).")
    chunk_overlap_tokens: JsonInt = Field(400, description="At most half the chunk size.")


class StaticChunking(Schema):
    type: Literal["static"]
    static: StaticSizes


class AutoChunking(Schema):
    type: Literal["auto"] = Field(description="Portico's page-and-section passages.")


Chunking = Annotated[AutoChunking | StaticChunking, Field(discriminator="type")]


class ExpiresAfter(Schema):
    anchor: Literal["last_active_at"]
    days: Annotated[JsonInt, Field(ge=1, le=365)]


class VectorStoreCreate(Schema):
    name: Name | None = None
    file_ids: Annotated[list[Id], Field(max_length=500)] | None = None
    metadata: dict[str, StrictStr] | None = Field(
        None, description="At most 16 pairs; keys of 64 characters, values of 512."
    )
    chunking_strategy: Chunking | None = None
    expires_after: ExpiresAfter | None = None


class VectorStoreModify(Schema):
    name: Name | None = None
    metadata: dict[str, StrictStr] | None = None
    expires_after: ExpiresAfter | None = None


class VectorStoreFileCreate(Schema):
    file_id: text(64, required=True)
    attributes: Attributes | None = Field(None, description=ATTRIBUTES_HELP)
    chunking_strategy: Chunking | None = None


class VectorStoreFileUpdate(Schema):
    attributes: Attributes | None = Field(description=ATTRIBUTES_HELP)


class BatchFile(Schema):
    file_id: text(64, required=True)
    attributes: Attributes | None = Field(None, description=ATTRIBUTES_HELP)
    chunking_strategy: Chunking | None = None


class FileBatchCreate(Schema):
    file_ids: Annotated[list[Id], Field(max_length=500)] | None = None
    files: Annotated[list[BatchFile], Field(max_length=500)] | None = None
    attributes: Attributes | None = Field(None, description=ATTRIBUTES_HELP)
    chunking_strategy: Chunking | None = None


class RankingOptions(Schema):
    ranker: text(40) | None = Field(None, description="Accepted; Portico has one ranker.")
    score_threshold: Annotated[float, Field(ge=0, le=1)] | None = None


class VectorStoreSearch(Schema):
    # Checked by ``retrieval.vector_search.check_queries`` (one param per mistake).
    query: Annotated[
        Any,
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "string", "maxLength": MAX_QUERY_CHARS},
                    {
                        "type": "array",
                        "items": {"type": "string", "maxLength": MAX_QUERY_CHARS},
                        "minItems": 1,
                        "maxItems": 10,
                    },
                ]
            }
        ),
    ] = Field(
        description="A string, or a list of strings: each is searched (and charged as one "
        "retrieval query) and the results merged, a passage once with its best score."
    )
    max_num_results: Annotated[JsonInt, Field(ge=1, le=MAX_TOP_K)] = 10
    filters: dict[str, Any] | None = Field(
        None,
        description="A comparison (`type` eq ne gt gte lt lte in nin, `key`, `value`) or a "
        "compound (`type` and/or, `filters`) filter over attributes, at most 5 levels deep.",
    )
    ranking_options: RankingOptions | None = None
    rewrite_query: StrictBool = Field(
        False,
        description="Search each query without its question and stop words (English and "
        "Arabic); the answer's `search_query` shows what was searched.",
    )


# --- Answers ------------------------------------------------------------------------------------
class FileObject(Schema):
    id: str
    object: Literal["file"]
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: str
    expires_at: int | None
    status_details: str | None


class FileList(Schema):
    object: Literal["list"]
    data: list[FileObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class FileDeleted(Schema):
    id: str
    object: Literal["file"]
    deleted: bool


class FileCounts(Schema):
    in_progress: int
    completed: int
    failed: int
    cancelled: int
    total: int


class VectorStoreObject(Schema):
    id: str
    object: Literal["vector_store"]
    created_at: int
    name: str
    usage_bytes: int
    file_counts: FileCounts
    status: Literal["expired", "in_progress", "completed"]
    expires_after: ExpiresAfter | None
    expires_at: int | None
    last_active_at: int | None
    metadata: dict[str, str]


class VectorStoreList(Schema):
    object: Literal["list"]
    data: list[VectorStoreObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VectorStoreDeleted(Schema):
    id: str
    object: Literal["vector_store.deleted"]
    deleted: bool


class LastError(Schema):
    code: Literal["server_error", "unsupported_file", "invalid_file"]
    message: str


class VectorStoreFileObject(Schema):
    id: str
    object: Literal["vector_store.file"]
    created_at: int
    vector_store_id: str
    status: Literal["in_progress", "completed", "cancelled", "failed"]
    last_error: LastError | None
    usage_bytes: int
    attributes: dict[str, Any]
    chunking_strategy: dict[str, Any]
    doc_id: str = Field(description="Portico: the document's alRetrieval id.")
    pages: int = Field(description="Portico: the document's page count.")


class VectorStoreFileList(Schema):
    object: Literal["list"]
    data: list[VectorStoreFileObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class VectorStoreFileDeleted(Schema):
    id: str
    object: Literal["vector_store.file.deleted"]
    deleted: bool


class PageText(Schema):
    type: Literal["text"]
    text: str
    page: int = Field(description="Portico: the page number (from 1).")


class FileContentPage(Schema):
    object: Literal["vector_store.file_content.page"]
    data: list[PageText]
    has_more: bool
    next_page: str | None


class FileBatchObject(Schema):
    id: str
    object: Literal["vector_store.files_batch"]
    created_at: int
    vector_store_id: str
    status: Literal["in_progress", "completed", "cancelled", "failed"]
    file_counts: FileCounts


class SearchText(Schema):
    type: Literal["text"]
    text: str


class SearchResult(Schema):
    file_id: str
    filename: str
    score: float
    attributes: dict[str, Any]
    content: list[SearchText]
    page_start: int = Field(description="Portico: the passage's first page.")
    page_end: int = Field(description="Portico: the passage's last page.")
    vector_store_id: str = Field(description="Portico: the store it was found in.")


class SearchResultsPage(Schema):
    object: Literal["vector_store.search_results.page"]
    search_query: list[str]
    data: list[SearchResult]
    has_more: bool
    next_page: str | None
