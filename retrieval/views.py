"""The Retrieval pages: collections (create, rename, delete), uploads of several files at
once, each document's status filling in live (htmx polling while any is pending), a
document page's text, and a search that is charged exactly like ``POST /v1/alRetrieval/
collections/{id}/query`` (the same ``retrieval.api.charged_query``), with the passages'
matched words highlighted, narrowed by attribute filter rows (``retrieval.filter_rows``),
and a "Use in playground" hand-off; and where a ``file_search`` citation (the
playground's "Chat with your documents") opens.

Also the download behind a document's ``file_url`` when files live in local storage: a
signed link that expires after an hour (object storage presigns its own).
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.core.signing import BadSignature, TimestampSigner
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.snapshots import KeyContext, asession_context
from gateway.admission import Call, admit_page, v1
from ground.bodies import validate
from ground.errors import ApiError
from retrieval import (
    api,
    charging,
    collections,
    conf,
    errors,
    filetypes,
    filter_rows,
    ingest,
    pdfreading,
    querying,
)
from retrieval import documents as document_cases
from retrieval.api import FILE_LINK_SALT
from retrieval.display import highlight, passage_lines
from retrieval.documents import get_document
from retrieval.embedding_jobs import PENDING as PENDING_VECTORS
from retrieval.embedding_jobs import dense_info, embedded_counts
from retrieval.models import Collection, Document
from retrieval.models import Page as PageRow
from retrieval.schemas import RetrievalQuery
from retrieval.text import clean_text, terms
from retrieval.vector_stores import get_vector_store

LINK_SECONDS = 3600
TOP_K = 8
PENDING = (Document.Status.QUEUED, Document.Status.PROCESSING)
# What the playground page reads once to prefill its system prompt and its message box
# (``playground.views.PREFILL_SESSION_KEY``, ``QUESTION_SESSION_KEY``; this app sits
# below the playground).
PLAYGROUND_PREFILL = "playground_prefill"
PLAYGROUND_QUESTION = "playground_question"
MAX_PREFILL_CHARS = 20_000
MAX_QUESTION_CHARS = 4000  # the search box's own limit


def signed_file(request: HttpRequest, signed: str) -> FileResponse:
    try:
        doc_id = TimestampSigner(salt=FILE_LINK_SALT).unsign(signed, max_age=LINK_SECONDS)
    except BadSignature:
        raise Http404("This link is invalid or has expired.") from None
    document = Document.objects.filter(doc_id=doc_id).exclude(stored_file="").first()
    if document is None or not default_storage.exists(document.stored_file):
        raise Http404("This document is gone.")
    return FileResponse(
        default_storage.open(document.stored_file, "rb"),
        as_attachment=True,
        filename=document.filename,
        content_type=document.mime_type,
    )


# --- Ownership --------------------------------------------------------------------------
def owned_collection(request: HttpRequest, collection_id: str) -> Collection:
    try:
        return collections.get_collection(request.user, collection_id)
    except errors.RetrievalError:
        raise Http404("No such collection") from None


def owned_document(request: HttpRequest, collection_id: str, doc_id: str) -> Document:
    try:
        return get_document(request.user, collection_id, doc_id)
    except errors.RetrievalError:
        raise Http404("No such document") from None


# --- Collections ------------------------------------------------------------------------
@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Your collections, and the form that creates one."""
    collections = Collection.objects.filter(owner=request.user).order_by("-created_at", "-id")
    return render(request, "retrieval/home.html", {"collections": collections})


@require_POST
@login_required
def create_collection(request: HttpRequest) -> HttpResponse:
    try:
        admit_page(request, settings.RETRIEVAL_MODEL, source="alretrieval")
        collection = collections.create_collection(request.user, request.POST.get("name", ""))
    except ApiError as exc:  # RetrievalError, and a refusal of admission
        messages.error(request, exc.message)
        return redirect("retrieval")
    return redirect("retrieval-collection", collection_id=collection.collection_id)


@require_POST
@login_required
def rename_collection(request: HttpRequest, collection_id: str) -> HttpResponse:
    owned_collection(request, collection_id)
    try:
        collections.rename_collection(request.user, collection_id, request.POST.get("name", ""))
    except errors.RetrievalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Renamed the collection.")
    return redirect("retrieval-collection", collection_id=collection_id)


@require_POST
@login_required
def delete_collection(request: HttpRequest, collection_id: str) -> HttpResponse:
    collection = owned_collection(request, collection_id)
    collections.delete_collection(request.user, collection_id)
    messages.success(request, f"Deleted {collection.name or 'the collection'} and its documents.")
    return redirect("retrieval")


def collection_context(collection: Collection, **extra) -> dict:
    documents = list(collection.documents.select_related("file").order_by("-created_at", "-id"))
    reading = pdfreading.pages_read(documents)  # a PDF's pages read so far, while read
    counts = embedded_counts(documents)
    for document in documents:
        document.pages_read = reading.get(document.doc_id)
        document.dense = dense_info(document, counts)
        document.attribute_chips = filter_rows.attribute_chips(document.attributes)
    return {
        "collection": collection,
        "documents": documents,
        # Polled while a document is indexed, or gains its vectors.
        "pending": any(
            d.status in PENDING or d.dense["dense_status"] == PENDING_VECTORS for d in documents
        ),
        "ready": sum(d.status == Document.Status.READY for d in documents),
        "failed": sum(d.status == Document.Status.ERROR for d in documents),
        "max_upload_mb": conf.max_upload_bytes() // 2**20,
        "max_pages": conf.max_pages(),
        "query_price": charging.query_price(),
        "accept": ",".join(sorted(filetypes.MIME_TYPES)),
        "operators": filter_rows.OPERATORS,
        "attribute_keys": sorted({key for d in documents for key in d.attributes or {}}),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@login_required
def collection_page(request: HttpRequest, collection_id: str) -> HttpResponse:
    """The collection: its documents, the upload form (which posts here) and search."""
    collection = owned_collection(request, collection_id)
    uploads: list[dict] = []
    status = HTTPStatus.OK
    if request.method == "POST":
        uploads = upload(request, collection)
        if uploads and not any(u["ok"] for u in uploads):
            status = uploads[0]["status"]
    context = collection_context(collection, uploads=uploads)
    return render(request, "retrieval/collection.html", context, status=status)


def upload(request: HttpRequest, collection: Collection) -> list[dict]:
    """Each chosen file admitted and ingested like ``POST …/documents/ingest`` (a PDF's
    OCR pages charged alike); a refusal is reported next to its file and does not stop
    the others."""
    files = request.FILES.getlist("files")
    if not files:
        return [{"name": "", "ok": False, "status": 400, "error": "Choose one or more files."}]
    results = []
    for file in files:
        name = filetypes.clean_filename(file.name) or "file"
        try:
            models = [settings.RETRIEVAL_MODEL]
            if filetypes.is_pdf(file.name or ""):
                models.append(settings.OCR_PAGE_MODEL)
            call = admit_page(request, *models, source="alretrieval")
            charge = api.pdf_charge(call) if len(models) > 1 else None
            if file.size > conf.max_upload_bytes():
                raise errors.RetrievalError(
                    413,
                    f"The file is larger than {conf.max_upload_bytes() // 2**20} MB.",
                    "request_too_large",
                    "file",
                )
            document = ingest.ingest_file(
                request.user,
                collection.collection_id,
                file.name or "",
                file.content_type,
                file.read(),
                charge=charge,
            )
        except ApiError as exc:  # RetrievalError, and the 402 of a hold the wallet refuses
            error = {"status": exc.status, "error": exc.message, "code": exc.code}
            results.append({"name": name, "ok": False, **error})
        else:
            results.append({"name": name, "ok": True, "status": 200, "pages": document.pages})
    return results


@require_GET
@login_required
def documents(request: HttpRequest, collection_id: str) -> HttpResponse:
    """The documents table alone: what the page polls while any document is pending."""
    collection = owned_collection(request, collection_id)
    context = collection_context(collection)
    return render(request, "retrieval/collection.html#documents", context)


@require_POST
@login_required
def delete_document(request: HttpRequest, collection_id: str, doc_id: str) -> HttpResponse:
    document = owned_document(request, collection_id, doc_id)
    document_cases.delete_document(request.user, collection_id, doc_id)
    messages.success(request, f"Deleted {document.filename}.")
    return redirect("retrieval-collection", collection_id=collection_id)


@require_GET
@login_required
def document_page(request: HttpRequest, collection_id: str, doc_id: str, number: int):
    """One page's extracted text (what a passage from a non-PDF document links to);
    ``?q=`` highlights the words matching a query."""
    document = owned_document(request, collection_id, doc_id)
    page = PageRow.objects.filter(document=document, number=number).first()
    if page is None:
        raise Http404("No such page")
    wanted = set(terms(request.GET.get("q", "")[: querying.MAX_QUERY_CHARS]))
    blocks = [
        {"heading": kind == "h", "html": highlight(text, wanted)}
        for kind, text in (page.blocks or [("p", page.text)])
    ]
    context = {
        "collection": document.collection,
        "document": document,
        "page": page,
        "blocks": blocks,
        "query": request.GET.get("q", ""),
        "previous": number - 1 if number > 1 else None,
        "next": number + 1 if number < document.pages else None,
    }
    return render(request, "retrieval/page.html", context)


@require_GET
@login_required
def cited_page(request: HttpRequest, vector_store_id: str, file_id: str, number: int):
    """Where a ``file_search`` citation (a vector store, a file and a page: what the
    playground's "Chat with your documents" lists) opens: the document's page, as a
    passage found by the portal's search links it."""
    try:
        store = get_vector_store(request.user, vector_store_id)
    except errors.RetrievalError:
        raise Http404("No such vector store") from None
    document = store.documents.filter(file__file_id=file_id).first()
    if document is None or not 1 <= number <= max(document.pages, 1):
        raise Http404("This document is gone.")
    return redirect(page_link(document, number, request.GET.get("q", "")))


@require_GET
@login_required
def original(request: HttpRequest, collection_id: str, doc_id: str) -> FileResponse:
    """The stored original for its owner, shown in the browser (``#page=N`` for PDFs)."""
    document = owned_document(request, collection_id, doc_id)
    if not document.stored_file or not default_storage.exists(document.stored_file):
        raise Http404("This document is gone.")
    content_type = document.mime_type
    if content_type.startswith("text/"):  # extraction required UTF-8
        content_type += "; charset=utf-8"
    return FileResponse(
        default_storage.open(document.stored_file, "rb"),
        filename=document.filename,
        content_type=content_type,
    )


# --- Search -----------------------------------------------------------------------------
async def portal_caller(request: HttpRequest) -> KeyContext:
    """The page has no key: it queries as the signed-in user (their allowlist, limits and
    wallet)."""
    return await asession_context(await request.auser(), "portal")


@v1(
    "alretrieval",
    endpoint="alretrieval.query",
    source="alretrieval",
    admit_now=False,
    context=portal_caller,
)
async def charged_search(request: HttpRequest, call: Call, collection_id: str) -> HttpResponse:
    text = clean_text(request.POST.get("q", ""))
    filters = filter_rows.filters_from(request.POST)  # the API's parser: its 400s
    question = validate(RetrievalQuery, {"query": text, "top_k": TOP_K, "filters": filters})
    answer, price = await api.charged_query(call, collection_id, question)
    context = await sync_to_async(results_context)(collection_id, text, answer)
    context.update(cost=price, request_id=call.request_id, **filter_context(request))
    return await sync_to_async(render_results)(request, collection_id, context)


def filter_context(request: HttpRequest) -> dict:
    """The filter rows to show again, and how the results name them."""
    try:
        rows = filter_rows.rows_from(request.POST)
    except errors.RetrievalError:
        rows = []
    return {"filter_rows": rows, "filter_text": filter_rows.describe(rows)}


def render_results(request: HttpRequest, collection_id: str, context: dict) -> HttpResponse:
    """The results fragment for htmx; the whole page, results in place, without script."""
    if request.htmx:
        return render(request, "retrieval/_results.html", context)
    collection = owned_collection(request, collection_id)
    page = collection_context(collection, searched=True, **context)
    return render(request, "retrieval/collection.html", page)


def results_context(collection_id: str, text: str, answer: dict) -> dict:
    wanted = set(terms(text))
    ids = {hit["document_id"] for hit in answer["context"]}
    documents = {
        d.doc_id: d
        for d in Document.objects.select_related("collection").filter(
            collection__collection_id=collection_id, doc_id__in=ids
        )
    }
    passages = []
    for hit in answer["context"]:
        document = documents.get(hit["document_id"])
        if document is None:  # deleted since
            continue
        passages.append(
            {
                **hit,
                "filename": document.filename,
                "lines": passage_lines(hit["snippet"], wanted),
                "link": page_link(document, hit["page_start"], text),
            }
        )
    return {"query": text, "passages": passages, "prefill": prefill_text(text, passages)}


def page_link(document: Document, number: int, query: str) -> str:
    args = [document.collection.collection_id, document.doc_id]
    if document.mime_type == filetypes.MIME_TYPES[".pdf"]:
        # The OCR'd page image is not kept: the original opens at that page instead.
        return reverse("retrieval-original", args=args) + f"#page={number}"
    url = reverse("retrieval-page", args=[*args, number])
    return url + "?" + urlencode({"q": query[:500]})


def prefill_text(query: str, passages: list[dict]) -> str:
    """The system prompt the playground starts with: the passages as numbered context."""
    lines = [
        "Answer the question using only the context below. Cite passages as [n].",
        f"Question asked of the collection: {query}",
        "",
    ]
    for n, passage in enumerate(passages, start=1):
        pages = f"p. {passage['page_start']}"
        if passage["page_end"] != passage["page_start"]:
            pages = f"pp. {passage['page_start']}–{passage['page_end']}"
        lines += [f"[{n}] {passage['filename']}, {pages}", passage["snippet"], ""]
    return "\n".join(lines).strip()[:MAX_PREFILL_CHARS]


@require_POST
@login_required
async def search(request: HttpRequest, collection_id: str) -> HttpResponse:
    """The ranked passages (the results partial), charged like an API query."""
    try:
        return await charged_search(request, collection_id)
    except ApiError as exc:  # admission recorded it (free) and put its headers on it
        if exc.status == HTTPStatus.NOT_FOUND:
            raise Http404("No such collection") from None
        context = {
            "error": exc.message,
            "error_code": exc.code,
            "query": request.POST.get("q"),
            **filter_context(request),
        }
        # htmx swaps only 2xx answers by default: the refusal is shown in the results.
        return await sync_to_async(render_results)(request, collection_id, context)


@require_POST
@login_required
def use_in_playground(request: HttpRequest) -> HttpResponse:
    """Hand the passages and the question to the playground: the passages prefill its
    system prompt, the question its message box, ready to send."""
    text = clean_text(request.POST.get("context", ""))[:MAX_PREFILL_CHARS]
    if text:
        request.session[PLAYGROUND_PREFILL] = text
    question = clean_text(request.POST.get("question", "")).strip()[:MAX_QUESTION_CHARS]
    if question:
        request.session[PLAYGROUND_QUESTION] = question
    return redirect("playground")
