"""``/v1/files`` (OpenAI's Files API, scope ``alretrieval``): upload, list, retrieve, read,
delete. Storing a file uses no model and spends nothing; attaching it to a vector store
does (``retrieval.vector_store_files_api``). The same files are the documents of
``/v1/alRetrieval``: one listed here is found through both."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from ninja import Router

from gateway.admission import Call, v1
from gateway.proxy import json_response
from ground.bodies import form_body, parse_form, parse_query, query_parameters
from ground.errors import ApiError
from ground.uploads import uploaded_file
from retrieval import files, openai_shapes
from retrieval.api import owner
from retrieval.offload import offload
from retrieval.openai_schemas import FileDeleted, FileList, FileListQuery, FileObject, FileUpload

router = Router(tags=["Files"])


def upload(request: HttpRequest, call: Call) -> dict:
    form = parse_form(request, FileUpload)
    received = uploaded_file(request)
    if received is None:
        raise ApiError(422, "Missing required parameter: 'file'.", param="file", code="empty_file")
    file = files.create_file(
        owner(call), received.name or "", received.content_type, received.read(), form.purpose
    )
    return openai_shapes.file_object(file)


@router.post(
    "/files",
    openapi_extra=form_body(FileUpload, files={"file": "PDF, DOCX, PPTX, TXT or MD"}),
    response=FileObject,
    summary="Upload a file",
)
@v1("alretrieval", source="alretrieval")
async def create_file(request: HttpRequest, call: Call) -> HttpResponse:
    """Checked like an alRetrieval ingest (type, size, pages, hostile files) and stored."""
    return json_response(await offload(upload, request, call))


@router.get(
    "/files",
    openapi_extra=query_parameters(FileListQuery),
    response=FileList,
    summary="List your files",
)
@v1("alretrieval", source="alretrieval")
async def list_files(request: HttpRequest, call: Call) -> HttpResponse:
    options = parse_query(request, FileListQuery)
    page = await sync_to_async(files.list_files)(
        owner(call),
        after=options.after,
        limit=options.limit,
        order=options.order,
        purpose=options.purpose,
    )
    return json_response(page)


@router.get("/files/{file_id}", response=FileObject, summary="Retrieve a file")
@v1("alretrieval", source="alretrieval")
async def retrieve_file(request: HttpRequest, call: Call, file_id: str) -> HttpResponse:
    file = await sync_to_async(files.get_file)(owner(call), file_id)
    return json_response(openai_shapes.file_object(file))


@router.get(
    "/files/{file_id}/content",
    summary="A file's bytes, as uploaded",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file's bytes.",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        }
    },
)
@v1("alretrieval", source="alretrieval")
async def file_content(request: HttpRequest, call: Call, file_id: str) -> HttpResponse:
    file, data = await offload(files.file_content, owner(call), file_id)
    response = HttpResponse(data, content_type=file.mime_type)
    response["Content-Disposition"] = "attachment"
    return response


@router.delete("/files/{file_id}", response=FileDeleted, summary="Delete a file")
@v1("alretrieval", source="alretrieval")
async def delete_file(request: HttpRequest, call: Call, file_id: str) -> HttpResponse:
    """Also detaches it from every vector store (their passages and postings go)."""
    await offload(files.delete_file, owner(call), file_id)
    return json_response({"id": file_id, "object": "file", "deleted": True})
