"""``/v1/alRetrieval``: collections, document ingest, status, listing, query (scope
``alretrieval``), admitted like every ``/v1`` endpoint (``gateway.admission.v1``).

Creating a collection, ingesting and querying use the catalog entry ``RETRIEVAL_MODEL``
(``portico/alretrieval``): admitted like any model (the account's allowlist, the key's,
the rate limits); a PDF's ingest also uses ``OCR_PAGE_MODEL``. A query is charged as one
request of ``RETRIEVAL_MODEL`` — held before the search, metered with
``source=alretrieval``, free when it finds nothing.
A PDF's pages are charged like ``/v1/ocr`` (held at ingest, settled when read). With
dense retrieval on, the query is also embedded here, on the server's event loop, through
the gateway's embedding path (its own usage event); a failure is a ``note``, never a 5xx.
"""

from __future__ import annotations

from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.signing import TimestampSigner
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router

from accounts.models import User
from gateway.admission import Call, admit_model_sync, require_admitted, v1
from gateway.proxy import json_response
from ground.bodies import form_body, json_body, parse_json
from ground.errors import ApiError
from ground.net import site_url
from ground.uploads import uploaded_file
from retrieval import charges, collections, documents, filetypes, querying
from retrieval.charging import charged_search
from retrieval.filters import parse_filters
from retrieval.ingest import ingest_answer, ingest_file, ingest_pages
from retrieval.models import Collection, Document
from retrieval.offload import offload
from retrieval.schemas import (
    CollectionCreate,
    CollectionCreated,
    CollectionDeleted,
    CollectionList,
    DocumentDeleted,
    DocumentList,
    DocumentStatus,
    FileIngest,
    IngestAccepted,
    PagesIngest,
    QueryAnswer,
    RetrievalQuery,
)
from retrieval.spelling import QueryBudget

router = Router(tags=["Retrieval"])
BASE = "/alRetrieval/collections"
INGEST_BODY = {
    "requestBody": {
        "content": {
            **form_body(FileIngest, files={"file": "PDF, DOCX, PPTX, TXT or MD"})["requestBody"][
                "content"
            ],
            **json_body(PagesIngest)["requestBody"]["content"],
        },
        "required": True,
    }
}
FILE_LINK_SALT = "retrieval.file"


def owner(call: Call) -> User:
    """The caller as a model instance for the use cases' queries (no database round trip)."""
    return User(pk=call.ctx.owner_id)


def file_link(request: HttpRequest):
    """Signed, expiring download links for documents kept in local storage."""
    base = site_url(request)

    def link(document: Document) -> str | None:
        url = documents.stored_file_url(document)
        if url or not document.stored_file:
            return url
        signed = TimestampSigner(salt=FILE_LINK_SALT).sign(document.doc_id)
        return base + reverse("retrieval-file", args=[signed])

    return link


# --- Collections ----------------------------------------------------------------------------
def retrieval_model() -> str:
    return settings.RETRIEVAL_MODEL


@router.post(
    BASE,
    openapi_extra=json_body(CollectionCreate, required=False),
    response=CollectionCreated,
    summary="Create a collection",
)
@v1("alretrieval", source="alretrieval", model=retrieval_model)
async def create_collection(request: HttpRequest, call: Call) -> HttpResponse:
    body = parse_json(request, CollectionCreate, required=False)
    collection = await offload(collections.create_collection, owner(call), body.name)
    return json_response({"collection_id": collection.collection_id, "name": collection.name})


@router.get(BASE, response=CollectionList, summary="List your collections, newest first")
@v1("alretrieval", source="alretrieval")
async def list_collections(request: HttpRequest, call: Call) -> HttpResponse:
    return json_response(await sync_to_async(collections.list_collections)(owner(call)))


@router.delete(
    BASE + "/{collection_id}",
    response=CollectionDeleted,
    summary="Delete a collection and its documents",
)
@v1("alretrieval", source="alretrieval")
async def delete_collection(request: HttpRequest, call: Call, collection_id: str) -> HttpResponse:
    await offload(collections.delete_collection, owner(call), collection_id)
    return json_response({"collection_id": collection_id, "deleted": True})


# --- Documents ------------------------------------------------------------------------------
def ingest(request: HttpRequest, call: Call, collection_id: str) -> dict:
    content_type = request.content_type or ""
    user = owner(call)
    if content_type.startswith("multipart/form-data"):
        upload = uploaded_file(request)
        if upload is None:
            raise ApiError(
                400,
                "Missing the file: send it in the field 'file'.",
                param="file",
                code="empty_file",
            )
        charge = None
        if filetypes.is_pdf(upload.name or ""):  # read by OCR: the OCR model is used too
            admit_model_sync(call, settings.OCR_PAGE_MODEL)
            charge = pdf_charge(call)
        document = ingest_file(
            user,
            collection_id,
            upload.name or "",
            upload.content_type,
            upload.read(),
            charge=charge,
        )
    elif content_type in ("application/json", "") or content_type.endswith("+json"):
        body = parse_json(request, PagesIngest)
        document = ingest_pages(
            user,
            collection_id,
            body.title,
            body.filename,
            body.pages,
            api_key_id=call.ctx.key_id or None,
        )
    else:
        raise ApiError(
            415,
            f"Unsupported Content-Type {content_type!r}: send a file as multipart/form-data "
            "(field 'file') or pages as application/json.",
        )
    return ingest_answer(document)


def pdf_charge(call: Call) -> charges.PdfCharge:
    """Who pays for a PDF's OCR pages: the caller admitted to use the OCR model."""
    require_admitted(call, settings.OCR_PAGE_MODEL)
    return charges.PdfCharge(payer=call.ctx, request_id=call.request_id)


@router.post(
    BASE + "/{collection_id}/documents/ingest",
    openapi_extra=INGEST_BODY,
    response=IngestAccepted,
    summary="Ingest a document",
)
@v1("alretrieval", source="alretrieval", model=retrieval_model)
async def ingest_document(request: HttpRequest, call: Call, collection_id: str) -> HttpResponse:
    """PDF (OCR; charged per page), DOCX, PPTX, TXT or MD as `file`, or JSON pages."""
    return json_response(await offload(ingest, request, call, collection_id))


@router.get(
    BASE + "/{collection_id}/documents",
    response=DocumentList,
    summary="List a collection's documents",
)
@v1("alretrieval", source="alretrieval")
async def list_documents(request: HttpRequest, call: Call, collection_id: str) -> HttpResponse:
    payload = await sync_to_async(documents.list_documents)(
        owner(call), collection_id, file_url=file_link(request)
    )
    return json_response(payload)


@router.get(
    BASE + "/{collection_id}/documents/{doc_id}/status",
    response=DocumentStatus,
    summary="A document's status",
)
@v1("alretrieval", source="alretrieval")
async def document_status(
    request: HttpRequest, call: Call, collection_id: str, doc_id: str
) -> HttpResponse:
    return json_response(
        await sync_to_async(documents.document_status)(owner(call), collection_id, doc_id)
    )


@router.delete(
    BASE + "/{collection_id}/documents/{doc_id}",
    response=DocumentDeleted,
    summary="Delete a document",
)
@v1("alretrieval", source="alretrieval")
async def delete_document(
    request: HttpRequest, call: Call, collection_id: str, doc_id: str
) -> HttpResponse:
    await offload(documents.delete_document, owner(call), collection_id, doc_id)
    return json_response({"doc_id": doc_id, "deleted": True})


# --- Query ----------------------------------------------------------------------------------
async def charged_query(
    call: Call, collection_id: str, question: RetrievalQuery
) -> tuple[dict, Decimal]:
    """Admit, hold one ``RETRIEVAL_MODEL`` request, search, record the usage event
    (``retrieval.charging.charged_search``): how every query is charged, from the API and
    from the portal's Retrieval page alike. ``question`` was checked by its schema (the
    one check; its ``filters`` by ``parse_filters``). Answers the flow's
    ``{"context", ...}`` and the price charged: nothing when the search found no passage."""
    checked = parse_filters(question.filters) if question.filters is not None else None
    found: list[Collection] = []

    def check() -> None:
        found.append(collections.get_collection(owner(call), collection_id))

    def run(vector: querying.QueryVector, budget: QueryBudget) -> dict:
        return querying.query_collection(
            found[0],
            question.query,
            doc_ids=question.doc_ids,
            top_k=question.top_k,
            query_vector=vector,
            budget=budget,
            filters=checked,
        )

    return await charged_search(
        call, question.query, run, found=lambda answer: bool(answer["context"]), check=check
    )


@router.post(
    BASE + "/{collection_id}/query",
    openapi_extra=json_body(RetrievalQuery),
    response=QueryAnswer,
    summary="Query a collection",
)
@v1("alretrieval", endpoint="alretrieval.query", source="alretrieval", admit_now=False)
async def query(request: HttpRequest, call: Call, collection_id: str) -> HttpResponse:
    """Ranked passages with their pages; charged as one request of `portico/alretrieval`."""
    question = parse_json(request, RetrievalQuery)
    answer, _ = await charged_query(call, collection_id, question)
    return json_response(answer)
