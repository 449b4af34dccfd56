"""``/v1/vector_stores/{id}/files`` and ``…/file_batches`` (OpenAI's shapes, scope
``alretrieval``): attach files (each becomes a document through the alRetrieval ingest:
``RETRIEVAL_MODEL``, and ``OCR_PAGE_MODEL`` for a PDF, whose pages are held), list,
retrieve, update attributes, detach, read the parsed text; batches: create, retrieve,
cancel, list files. An object still being processed carries ``openai-poll-after-ms`` so
the SDKs' ``…_and_poll`` helpers poll at a sensible pace."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Router

from gateway.admission import Call, admit_model_sync, v1
from gateway.proxy import json_response
from ground.bodies import json_body, parse_json, parse_query, query_parameters
from retrieval import vector_store_files as cases
from retrieval.api import owner, pdf_charge, retrieval_model
from retrieval.files import get_file
from retrieval.offload import offload
from retrieval.openai_schemas import (
    FileBatchCreate,
    FileBatchObject,
    FileContentPage,
    VectorStoreFileCreate,
    VectorStoreFileDeleted,
    VectorStoreFileList,
    VectorStoreFileListQuery,
    VectorStoreFileObject,
    VectorStoreFileUpdate,
)
from retrieval.vector_stores import is_pdf, needs_ocr

router = Router(tags=["Vector stores"])
FILES = "/vector_stores/{vector_store_id}/files"
BATCHES = "/vector_stores/{vector_store_id}/file_batches"
POLL_AFTER_MS = "500"


def answer(payload: dict) -> HttpResponse:
    response = json_response(payload)
    if payload.get("status") == "in_progress":
        response["openai-poll-after-ms"] = POLL_AFTER_MS
    return response


def dumped(value):
    return value.model_dump() if value is not None else None


def ocr_charge(call: Call, pdf: bool):
    """A PDF is read by OCR: the call is admitted for that model too, and pays its pages."""
    if not pdf:
        return None
    admit_model_sync(call, settings.OCR_PAGE_MODEL)
    return pdf_charge(call)


# --- Files --------------------------------------------------------------------------------------
def attach(request: HttpRequest, call: Call, vector_store_id: str) -> dict:
    body = parse_json(request, VectorStoreFileCreate)
    user = owner(call)
    cases.get_vector_store(user, vector_store_id)  # not yours: 404 before the file is judged
    document = cases.attach_file(
        user,
        vector_store_id,
        body.file_id,
        body.attributes,
        dumped(body.chunking_strategy),
        ocr_charge(call, is_pdf(get_file(user, body.file_id))),
    )
    return cases.file_object(document)


@router.post(
    FILES,
    openapi_extra=json_body(VectorStoreFileCreate),
    response=VectorStoreFileObject,
    summary="Attach a file to a vector store",
)
@v1("alretrieval", source="alretrieval", model=retrieval_model)
async def create_store_file(request: HttpRequest, call: Call, vector_store_id: str) -> HttpResponse:
    return answer(await offload(attach, request, call, vector_store_id))


@router.get(
    FILES,
    openapi_extra=query_parameters(VectorStoreFileListQuery),
    response=VectorStoreFileList,
    summary="List a vector store's files",
)
@v1("alretrieval", source="alretrieval")
async def list_store_files(request: HttpRequest, call: Call, vector_store_id: str) -> HttpResponse:
    options = parse_query(request, VectorStoreFileListQuery)
    page = await sync_to_async(cases.list_store_files)(
        owner(call),
        vector_store_id,
        status=options.filter,
        after=options.after,
        limit=options.limit,
        order=options.order,
    )
    return json_response(page)


def retrieve(call: Call, vector_store_id: str, file_id: str) -> dict:
    _, document = cases.get_store_file(owner(call), vector_store_id, file_id)
    return cases.file_object(document)


@router.get(
    FILES + "/{file_id}", response=VectorStoreFileObject, summary="Retrieve a vector store file"
)
@v1("alretrieval", source="alretrieval")
async def retrieve_store_file(
    request: HttpRequest, call: Call, vector_store_id: str, file_id: str
) -> HttpResponse:
    return answer(await sync_to_async(retrieve)(call, vector_store_id, file_id))


def update(request: HttpRequest, call: Call, vector_store_id: str, file_id: str) -> dict:
    body = parse_json(request, VectorStoreFileUpdate)
    document = cases.update_attributes(owner(call), vector_store_id, file_id, body.attributes)
    return cases.file_object(document)


@router.post(
    FILES + "/{file_id}",
    openapi_extra=json_body(VectorStoreFileUpdate),
    response=VectorStoreFileObject,
    summary="Update a vector store file's attributes",
)
@v1("alretrieval", source="alretrieval")
async def update_store_file(
    request: HttpRequest, call: Call, vector_store_id: str, file_id: str
) -> HttpResponse:
    return answer(await sync_to_async(update)(request, call, vector_store_id, file_id))


@router.delete(
    FILES + "/{file_id}",
    response=VectorStoreFileDeleted,
    summary="Detach a file from a vector store",
)
@v1("alretrieval", source="alretrieval")
async def delete_store_file(
    request: HttpRequest, call: Call, vector_store_id: str, file_id: str
) -> HttpResponse:
    """The document goes from the store (its passages and postings); the file stays."""
    await offload(cases.detach_file, owner(call), vector_store_id, file_id)
    return json_response({"id": file_id, "object": "vector_store.file.deleted", "deleted": True})


@router.get(
    FILES + "/{file_id}/content",
    response=FileContentPage,
    summary="A vector store file's parsed text, per page",
)
@v1("alretrieval", source="alretrieval")
async def store_file_content(
    request: HttpRequest, call: Call, vector_store_id: str, file_id: str
) -> HttpResponse:
    return json_response(
        await sync_to_async(cases.file_pages)(owner(call), vector_store_id, file_id)
    )


# --- Batches ------------------------------------------------------------------------------------
def create_batch(request: HttpRequest, call: Call, vector_store_id: str) -> dict:
    body = parse_json(request, FileBatchCreate)
    user = owner(call)
    cases.get_vector_store(user, vector_store_id)
    file_ids = body.file_ids or [entry.file_id for entry in body.files or []]
    batch = cases.create_batch(
        user,
        vector_store_id,
        file_ids=body.file_ids,
        files=[dict(entry.model_dump(exclude_unset=True)) for entry in body.files]
        if body.files
        else None,
        attributes=body.attributes,
        chunking_strategy=dumped(body.chunking_strategy),
        charge=ocr_charge(call, needs_ocr(user, file_ids)),
    )
    return cases.batch_object(user, vector_store_id, batch.batch_id)


@router.post(
    BATCHES,
    openapi_extra=json_body(FileBatchCreate),
    response=FileBatchObject,
    summary="Attach several files at once",
)
@v1("alretrieval", source="alretrieval", model=retrieval_model)
async def create_file_batch(request: HttpRequest, call: Call, vector_store_id: str) -> HttpResponse:
    return answer(await offload(create_batch, request, call, vector_store_id))


@router.get(BATCHES + "/{batch_id}", response=FileBatchObject, summary="Retrieve a file batch")
@v1("alretrieval", source="alretrieval")
async def retrieve_file_batch(
    request: HttpRequest, call: Call, vector_store_id: str, batch_id: str
) -> HttpResponse:
    return answer(await sync_to_async(cases.batch_object)(owner(call), vector_store_id, batch_id))


@router.post(
    BATCHES + "/{batch_id}/cancel",
    response=FileBatchObject,
    summary="Cancel a file batch (its files still being processed are detached)",
)
@v1("alretrieval", source="alretrieval")
async def cancel_file_batch(
    request: HttpRequest, call: Call, vector_store_id: str, batch_id: str
) -> HttpResponse:
    return answer(await offload(cases.cancel_batch, owner(call), vector_store_id, batch_id))


@router.get(
    BATCHES + "/{batch_id}/files",
    openapi_extra=query_parameters(VectorStoreFileListQuery),
    response=VectorStoreFileList,
    summary="List a file batch's files",
)
@v1("alretrieval", source="alretrieval")
async def list_file_batch_files(
    request: HttpRequest, call: Call, vector_store_id: str, batch_id: str
) -> HttpResponse:
    options = parse_query(request, VectorStoreFileListQuery)
    page = await sync_to_async(cases.list_store_files)(
        owner(call),
        vector_store_id,
        status=options.filter,
        after=options.after,
        limit=options.limit,
        order=options.order,
        batch_id=batch_id,
    )
    return json_response(page)
