# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""Files & Vector Stores through the real server with the official ``openai`` SDK: files,
stores, ``upload_and_poll`` for every format, batches, search with filters and pages,
one index behind both APIs, usage of every search."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import openai
import pytest

from tests.gateway.conftest import catalog, client_for, fake, funded, make_key, server, upstream  # noqa: F401 - fixtures
from tests.retrieval.conftest import make_docx, make_pptx
from tests.retrieval.test_api import AR, EN, QUERY_PRICE, Api, priced  # noqa: F401 - fixture
from tests.support.processes import wait_for
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


@pytest.fixture
def secret(server, make_key, priced) -> str:
    return make_key(scopes=["alretrieval"])


@pytest.fixture
def sdk(client_for, secret) -> openai.OpenAI:
    client = client_for(secret)
    return client.with_options(timeout=60)


def formats() -> dict[str, tuple[bytes, str]]:
    from tests.ocr.pdfgen import text_layer_pdf

    return {
        "notes.txt": (b"Meeting notes about the harbour budget.", "text/plain"),
        "guide.md": (f"# Harbour\n\n{EN}".encode(), "text/markdown"),
        "atlas.docx": (
            make_docx(("h", "Egypt"), ("p", "Cairo is the capital."), ("break", ""), ("p", AR)),
            DOCX,
        ),
        "deck.pptx": (
            make_pptx(
                [
                    {"title": "Intro", "body": ["Welcome"]},
                    {"title": "Ships", "body": ["Merchant fleets of Venice"]},
                ]
            ),
            PPTX,
        ),
        "report.pdf": (text_layer_pdf("Seventeen ships counted by the keeper."), "application/pdf"),
    }


def test_files_are_created_listed_read_and_deleted(sdk):
    created = sdk.files.create(
        file=("notes.txt", b"Lighthouse keeper's log.", "text/plain"), purpose="assistants"
    )
    assert created.id.startswith("file-") and created.bytes == 24
    assert created.filename == "notes.txt" and created.purpose == "assistants"
    other = sdk.files.create(file=("b.md", b"# B\n\nsecond", "text/markdown"), purpose="user_data")
    listed = sdk.files.list(limit=1)
    assert [f.id for f in listed.data] == [other.id] and listed.has_more
    assert [f.id for f in sdk.files.list(limit=1, after=other.id).data] == [created.id]
    assert {f.id for f in sdk.files.list()} == {created.id, other.id}  # auto-pagination
    assert [f.id for f in sdk.files.list(purpose="user_data")] == [other.id]
    assert sdk.files.retrieve(created.id).filename == "notes.txt"
    assert sdk.files.content(created.id).read() == b"Lighthouse keeper's log."
    assert sdk.files.delete(created.id).deleted
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(created.id)


def test_vector_stores_are_created_listed_modified_and_deleted(sdk, secret, server):
    store = sdk.vector_stores.create(
        name="Library",
        metadata={"team": "docs"},
        expires_after={"anchor": "last_active_at", "days": 7},
    )
    assert store.id.startswith("vs_") and store.object == "vector_store"
    assert store.status == "completed" and store.file_counts.total == 0
    assert store.metadata == {"team": "docs"} and store.expires_at is not None
    assert sdk.vector_stores.retrieve(store.id).name == "Library"
    updated = sdk.vector_stores.update(store.id, name="Atlas", metadata={"team": "maps"})
    assert (updated.name, updated.metadata) == ("Atlas", {"team": "maps"})
    assert store.id in [s.id for s in sdk.vector_stores.list()]
    # The same row is an alRetrieval collection.
    collections = Api(server, secret).get().json()["collections"]
    assert {"collection_id": store.id[3:], "name": "Atlas"}.items() <= collections[0].items()
    assert sdk.vector_stores.delete(store.id).deleted
    with pytest.raises(openai.NotFoundError):
        sdk.vector_stores.retrieve(store.id)


def test_every_format_uploads_and_polls_and_search_filters_and_cites_pages(sdk):
    store = sdk.vector_stores.create(name="Everything")
    files = {}
    for name, (data, mime) in formats().items():
        attached = sdk.vector_stores.files.upload_and_poll(
            vector_store_id=store.id,
            file=(name, data, mime),
            attributes={"kind": name.rsplit(".", 1)[1], "year": 2020 + len(name)},
        )
        assert attached.status == "completed", (name, attached.last_error)
        files[name] = attached
    assert sdk.vector_stores.retrieve(store.id).file_counts.completed == 5
    listed = sdk.vector_stores.files.list(vector_store_id=store.id, filter="completed")
    assert {f.id for f in listed} == {f.id for f in files.values()}

    found = sdk.vector_stores.search(store.id, query="مكتبة الاسكندريه القديمه")
    top = found.data[0]
    assert (top.file_id, top.filename) == (files["atlas.docx"].id, "atlas.docx")
    assert top.model_extra["page_start"] == 2 and 0 < top.score <= 1
    assert top.attributes == {"kind": "docx", "year": 2030}
    assert "الإسكندرية" in top.content[0].text

    venice = sdk.vector_stores.search(store.id, query="Venice merchant fleets", max_num_results=2)
    assert venice.data[0].file_id == files["deck.pptx"].id and len(venice.data) <= 2
    only_pdf = sdk.vector_stores.search(
        store.id,
        query="ships",
        filters={
            "type": "and",
            "filters": [
                {"type": "eq", "key": "kind", "value": "pdf"},
                {"type": "gte", "key": "year", "value": 2030},
            ],
        },
    )
    assert [r.file_id for r in only_pdf.data] == [files["report.pdf"].id]
    none = sdk.vector_stores.search(
        store.id, query="ships", filters={"type": "in", "key": "kind", "value": ["txt", "md"]}
    )
    assert all(r.file_id in {files["notes.txt"].id, files["guide.md"].id} for r in none.data)
    content = sdk.vector_stores.files.content(files["atlas.docx"].id, vector_store_id=store.id)
    assert [page.model_extra["page"] for page in content.data] == [1, 2]
    updated = sdk.vector_stores.files.update(
        files["notes.txt"].id, vector_store_id=store.id, attributes={"kind": "memo"}
    )
    assert updated.attributes == {"kind": "memo"}


def test_file_batches_upload_and_poll_and_static_chunking(sdk):
    store = sdk.vector_stores.create(name="Batch")
    long_text = " ".join(f"word{i}" for i in range(450)).encode()
    batch = sdk.vector_stores.file_batches.upload_and_poll(
        store.id,
        files=[("a.txt", b"Alpha harbour.", "text/plain"), ("long.txt", long_text, "text/plain")],
        chunking_strategy={
            "type": "static",
            "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50},
        },
    )
    assert batch.status == "completed" and batch.file_counts.completed == 2
    listed = sdk.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert len(listed.data) == 2
    assert all(f.chunking_strategy.type == "static" for f in listed.data)
    hit = sdk.vector_stores.search(store.id, query="word449").data[0]
    assert hit.content[0].text.split()[-1] == "word449"
    assert len(hit.content[0].text.split()) <= 200


def test_one_index_behind_both_apis_and_every_search_is_charged(sdk, secret, server, funded):
    api = Api(server, secret)
    store = sdk.vector_stores.create(name="Shared")
    cid = store.id[3:]
    ingested = api.ingest(cid, "guide.md", f"# Harbour\n\n{EN}".encode(), "text/markdown")
    api.wait_ready(cid, ingested["id"])
    # An alRetrieval document is a vector-store file and a file.
    via_openai = sdk.vector_stores.search(store.id, query="lighthouse Alexandria harbour")
    file_id = via_openai.data[0].file_id
    assert sdk.files.retrieve(file_id).filename == "guide.md"
    assert (
        sdk.vector_stores.files.retrieve(file_id, vector_store_id=store.id).model_extra["doc_id"]
        == ingested["id"]
    )
    # A vector-store file is an alRetrieval document.
    attached = sdk.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("fleet.txt", b"Merchant fleets of Venice.", "text/plain")
    )
    answer = api.post(f"/{cid}/query", json={"query": "Venice fleets"}).json()
    assert answer["context"][0]["document_id"] == attached.model_extra["doc_id"]
    filtered = api.post(
        f"/{cid}/query",
        json={"query": "Venice fleets", "filters": {"type": "eq", "key": "x", "value": 1}},
    ).json()
    assert filtered["context"] == []
    sdk.vector_stores.search(store.id, query="nothing-like-this-anywhere")

    def searches():
        drain_usage()
        records = list(
            UsageRecord.objects.filter(source="alretrieval", endpoint="alretrieval.query")
        )
        return records if len(records) == 4 else None

    costs = sorted(r.cost_usd for r in wait_for(searches, timeout=20, what="4 search records"))
    assert costs == [Decimal(0), Decimal(0), QUERY_PRICE, QUERY_PRICE]
    # Deleting the file detaches it: gone from the store and from alRetrieval's listing.
    sdk.files.delete(attached.id)
    documents = api.get(f"/{cid}/documents").json()["documents"]
    assert [d["doc_id"] for d in documents] == [ingested["id"]]
    # Deleting the alRetrieval document takes its file (it had no bytes of its own).
    assert api.delete(f"/{cid}/documents/{ingested['id']}").status_code == HTTPStatus.OK
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(file_id)
