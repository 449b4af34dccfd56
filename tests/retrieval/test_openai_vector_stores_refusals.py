# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""Files & Vector Stores refuse hostile input with one clear 4xx in OpenAI's error shape,
answer 404 for another user's ids on every route, and deleting a store whose file is
still being processed leaves no passages, postings or stored bytes behind."""

from __future__ import annotations

from http import HTTPStatus

import httpx
import pytest
from django.core.files.storage import default_storage

from tests.gateway.conftest import catalog, fake, funded, make_key, server, upstream  # noqa: F401 - fixtures
from tests.retrieval.test_api import priced  # noqa: F401 - fixture
from tests.support.processes import wait_for


class Caller:
    def __init__(self, server, secret: str) -> None:
        self.url = server.url + "/v1"
        self.headers = {"Authorization": f"Bearer {secret}"}

    def __call__(self, method: str, path: str, **kwargs) -> httpx.Response:
        return httpx.request(method, self.url + path, headers=self.headers, timeout=60, **kwargs)

    def refused(self, status: int, method: str, path: str, param=None, **kwargs) -> dict:
        response = self(method, path, **kwargs)
        assert response.status_code == status, (path, response.text)
        error = response.json()["error"]
        assert set(error) >= {"message", "type", "code", "param"}, error
        if param is not None:
            assert error["param"] == param, error
        return error


@pytest.fixture
def alice_api(server, make_key, priced) -> Caller:
    return Caller(server, make_key(scopes=["alretrieval"]))


@pytest.fixture
def store(alice_api) -> str:
    response = alice_api("POST", "/vector_stores", json={"name": "Refusals"})
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()["id"]


def upload(api: Caller, name="a.txt", data=b"Harbour notes.", mime="text/plain") -> dict:
    response = api(
        "POST", "/files", files={"file": (name, data, mime)}, data={"purpose": "assistants"}
    )
    assert response.status_code == HTTPStatus.OK, response.text
    return response.json()


@pytest.mark.django_db(transaction=True)
def test_hostile_search_bodies_are_each_a_clear_400(alice_api, store):
    search = f"/vector_stores/{store}/search"
    for count in (0, 51, "5", 5.0, True):
        alice_api.refused(
            400, "POST", search, "max_num_results", json={"query": "x", "max_num_results": count}
        )
    error = alice_api.refused(
        400,
        "POST",
        search,
        "filters.type",
        json={"query": "x", "filters": {"type": "regex", "key": "a", "value": "b"}},
    )
    assert error["code"] == "invalid_filter"
    deep: dict = {"type": "eq", "key": "a", "value": 1}
    for _ in range(6):
        deep = {"type": "and", "filters": [deep]}
    assert (
        "deep"
        in alice_api.refused(400, "POST", search, json={"query": "x", "filters": deep})["message"]
    )
    alice_api.refused(
        400,
        "POST",
        search,
        "filters.value",
        json={"query": "x", "filters": {"type": "eq", "key": "a", "value": {"$gt": 1}}},
    )
    alice_api.refused(
        400,
        "POST",
        search,
        "filters.filters",
        json={"query": "x", "filters": {"type": "or", "filters": []}},
    )
    # NUL and bidi overrides in a filter's key or value, as in names and queries.
    alice_api.refused(
        400,
        "POST",
        search,
        "filters.key",
        json={"query": "x", "filters": {"type": "eq", "key": "a\u0000b", "value": 1}},
    )
    alice_api.refused(
        400,
        "POST",
        search,
        "filters.filters[0].value[1]",
        json={
            "query": "x",
            "filters": {
                "type": "and",
                "filters": [{"type": "in", "key": "a", "value": ["ok", "evil\u202etxt"]}],
            },
        },
    )
    alice_api.refused(422, "POST", search, "query", json={"query": "   "})
    alice_api.refused(422, "POST", search, "query", json={})
    alice_api.refused(400, "POST", search, "query", json={"query": "te\u0000a"})
    alice_api.refused(400, "POST", search, "query", json={"query": "evil\u202etxt.exe"})
    alice_api.refused(400, "POST", search, "query[1]", json={"query": ["ok", "\u2066x"]})
    alice_api.refused(400, "POST", search, "query", json={"query": "x" * 4001})
    alice_api.refused(
        400,
        "POST",
        search,
        "ranking_options.score_threshold",
        json={"query": "x", "ranking_options": {"score_threshold": 2}},
    )
    alice_api.refused(400, "POST", search, json=[1, 2])
    # Arabic marks (RLM) are text, not controls: served.
    assert alice_api("POST", search, json={"query": "مكتبة\u200f"}).status_code == HTTPStatus.OK


@pytest.mark.django_db(transaction=True)
def test_attributes_names_chunking_and_files_over_the_limits_are_refused(alice_api, store):
    file = upload(alice_api)
    files = f"/vector_stores/{store}/files"
    too_many = {f"k{i}": i for i in range(17)}
    alice_api.refused(
        400, "POST", files, "attributes", json={"file_id": file["id"], "attributes": too_many}
    )
    alice_api.refused(
        400,
        "POST",
        files,
        "attributes.k",
        json={"file_id": file["id"], "attributes": {"k": "v" * 513}},
    )
    alice_api.refused(400, "POST", files, json={"file_id": file["id"], "attributes": {"k" * 65: 1}})
    alice_api.refused(
        400,
        "POST",
        files,
        "attributes.k",
        json={"file_id": file["id"], "attributes": {"k": [1, 2]}},
    )
    for static in (
        {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0},
        {"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0},
        {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101},
    ):
        alice_api.refused(
            400,
            "POST",
            files,
            "chunking_strategy.static",
            json={"file_id": file["id"], "chunking_strategy": {"type": "static", "static": static}},
        )
    alice_api.refused(422, "POST", files, "file_id", json={})
    # Nothing was attached by any refusal.
    listed = alice_api("GET", files).json()
    assert listed["data"] == []
    alice_api.refused(400, "POST", "/vector_stores", "name", json={"name": "a\u0000b"})
    alice_api.refused(400, "POST", "/vector_stores", "name", json={"name": "report\u202efdp"})
    alice_api.refused(
        400,
        "POST",
        "/vector_stores",
        "metadata",
        json={"metadata": {f"k{i}": "v" for i in range(17)}},
    )
    alice_api.refused(400, "POST", "/vector_stores", "metadata.k", json={"metadata": {"k": 1}})
    alice_api.refused(
        400,
        "POST",
        "/vector_stores",
        "expires_after.days",
        json={"expires_after": {"anchor": "last_active_at", "days": 0}},
    )
    alice_api.refused(
        400,
        "POST",
        "/files",
        "purpose",
        files={"file": ("a.txt", b"x", "text/plain")},
        data={"purpose": "fine-tune"},
    )
    alice_api.refused(
        422, "POST", "/files", "purpose", files={"file": ("a.txt", b"x", "text/plain")}
    )
    alice_api.refused(422, "POST", "/files", "file", data={"purpose": "assistants"})
    alice_api.refused(
        400,
        "POST",
        "/files",
        "file",
        files={"file": ("a\u202etxt.exe", b"x", "text/plain")},
        data={"purpose": "assistants"},
    )
    # The same checks as an ingest: the type, the content type, an empty file.
    alice_api.refused(
        400,
        "POST",
        "/files",
        "file",
        files={"file": ("a.exe", b"MZ", "application/octet-stream")},
        data={"purpose": "assistants"},
    )
    alice_api.refused(
        415,
        "POST",
        "/files",
        "file",
        files={"file": ("a.pdf", b"%PDF", "image/png")},
        data={"purpose": "assistants"},
    )
    alice_api.refused(
        400,
        "POST",
        "/files",
        "file",
        files={"file": ("a.txt", b"", "text/plain")},
        data={"purpose": "assistants"},
    )
    alice_api.refused(400, "GET", "/files", "limit", params={"limit": "٣"})
    alice_api.refused(400, "GET", "/files", "limit", params={"limit": "101"})
    alice_api.refused(400, "GET", "/files", "after", params={"after": "file-nope"})
    assert [f["id"] for f in alice_api("GET", "/files").json()["data"]] == [file["id"]]


@pytest.mark.django_db(transaction=True)
def test_another_users_ids_are_a_404_on_every_route(
    server, make_key, priced, bob, alice_api, store
):
    file = upload(alice_api)
    attached = alice_api("POST", f"/vector_stores/{store}/files", json={"file_id": file["id"]})
    assert attached.status_code == HTTPStatus.OK, attached.text
    batch = alice_api(
        "POST",
        f"/vector_stores/{store}/file_batches",
        json={"file_ids": [upload(alice_api, "b.txt")["id"]]},
    ).json()
    wait_for(
        lambda: alice_api("GET", f"/vector_stores/{store}").json()["status"] == "completed",
        timeout=60,
        what="alice's files to be indexed",
    )
    bob_api = Caller(server, make_key(bob, scopes=["alretrieval"]))
    mine = bob_api("POST", "/vector_stores", json={}).json()["id"]
    vs, f, b = f"/vector_stores/{store}", file["id"], batch["id"]
    for method, path, kwargs in [
        ("GET", f"/files/{f}", {}),
        ("GET", f"/files/{f}/content", {}),
        ("DELETE", f"/files/{f}", {}),
        ("GET", vs, {}),
        ("POST", vs, {"json": {"name": "mine now"}}),
        ("DELETE", vs, {}),
        ("POST", vs + "/search", {"json": {"query": "harbour"}}),
        ("POST", vs + "/files", {"json": {"file_id": f}}),
        ("GET", vs + "/files", {}),
        ("GET", f"{vs}/files/{f}", {}),
        ("POST", f"{vs}/files/{f}", {"json": {"attributes": {}}}),
        ("DELETE", f"{vs}/files/{f}", {}),
        ("GET", f"{vs}/files/{f}/content", {}),
        ("POST", vs + "/file_batches", {"json": {"file_ids": [f]}}),
        ("GET", f"{vs}/file_batches/{b}", {}),
        ("POST", f"{vs}/file_batches/{b}/cancel", {}),
        ("GET", f"{vs}/file_batches/{b}/files", {}),
        # Alice's file into Bob's own store, and Alice's batch under Bob's store.
        ("POST", f"/vector_stores/{mine}/files", {"json": {"file_id": f}}),
        ("POST", f"/vector_stores/{mine}/file_batches", {"json": {"file_ids": [f]}}),
        ("GET", f"/vector_stores/{mine}/file_batches/{b}", {}),
        ("GET", f"/vector_stores/{mine}/files/{f}", {}),
        # A malformed id is the same 404.
        ("GET", "/vector_stores/vs_../../etc", {}),
        ("GET", "/vector_stores/" + store.upper(), {}),
    ]:
        error = bob_api.refused(404, method, path, **kwargs)
        assert error["type"] == "not_found_error", (path, error)
    # Nothing of Alice's changed.
    assert alice_api("GET", vs).json()["file_counts"]["completed"] == 2
    assert alice_api("GET", f"/files/{f}").status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_a_store_deleted_while_its_file_is_processed_leaves_nothing_behind(
    alice, django_capture_on_commit_callbacks
):
    from retrieval import files, indexing, vector_store_files, vector_stores
    from retrieval.index import index_document
    from retrieval.models import Chunk, Document, Page, Posting

    text = " ".join(f"harbour{i}" for i in range(300)).encode()
    file = files.create_file(alice, "log.txt", "text/plain", text, "assistants")
    store = vector_stores.create_vector_store(
        alice,
        name="Busy",
        metadata=None,
        expires_after=None,
        file_ids=[],
        chunking_strategy=None,
        charge=None,
    )
    # The indexing task is queued on commit, which this test's transaction never reaches:
    # the worker's steps are run here, stopped half way (the document still processing).
    document = vector_store_files.attach_file(
        alice, store.vector_store_id, file.file_id, {"a": 1}, None, None
    )
    run = indexing.claim(document.pk)
    index_document(document, run=run)
    Document.objects.filter(pk=document.pk).update(status=Document.Status.PROCESSING)
    assert Posting.objects.filter(document_id=document.pk).exists()
    stored = document.stored_file
    assert default_storage.exists(stored)

    with django_capture_on_commit_callbacks(execute=True):
        vector_stores.delete_vector_store(alice, store.vector_store_id)

    assert not Posting.objects.filter(document_id=document.pk).exists()
    assert not Chunk.objects.filter(document_id=document.pk).exists()
    assert not Page.objects.filter(document_id=document.pk).exists()
    assert not default_storage.exists(stored)
    # The worker carrying on writes nothing for a document that is gone.
    indexing.process_document(document.pk)
    assert not Posting.objects.filter(document_id=document.pk).exists()
    # The file stays (as OpenAI's do), with its bytes.
    assert files.file_content(alice, file.file_id)[1] == text


def test_a_file_upload_has_the_ingest_s_body_limit():
    from portal.guard import body_limit

    ingest = body_limit("/v1/alRetrieval/collections/c/documents/ingest")
    assert body_limit("/v1/files") == body_limit("/api/v1/files") == ingest
    assert body_limit("/v1/files/file-x") < ingest  # the other routes take small JSON bodies
