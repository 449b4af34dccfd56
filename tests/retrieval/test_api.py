# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""``/v1/alRetrieval`` through the real server, as the reference page's ``requests`` calls
it: collections, ingest of every format, status, listing, query (charged), not-yours 404s,
bad input codes."""

from __future__ import annotations

from decimal import Decimal
from http import HTTPStatus

import httpx
import pytest

from billing.models import Wallet
from tests.gateway.conftest import add_model, catalog, fake, funded, make_key, server, upstream  # noqa: F401 - fixtures
from tests.retrieval.conftest import make_docx, make_pptx
from tests.support.processes import wait_for
from usage.drain import drain_usage
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
QUERY_PRICE = Decimal("0.002")
PAGE_PRICE = Decimal("0.01")
AR = "تقع مدينة الإسكندرية على ساحل البحر الأبيض المتوسط وتشتهر بمكتبتها القديمة."
EN = "The lighthouse of Alexandria guided ships into the harbour for centuries."


@pytest.fixture
def priced(catalog):
    add_model(
        "portico/alretrieval",
        [(catalog["local"], "alretrieval", 1)],
        type="retrieval",
        unit_price=QUERY_PRICE,
    )
    add_model("portico/ocr", [(catalog["local"], "ocr", 1)], type="ocr", unit_price=PAGE_PRICE)


class Api:
    def __init__(self, server, secret: str) -> None:
        self.base = server.url + "/v1/alRetrieval/collections"
        self.headers = {"Authorization": f"Bearer {secret}"}

    def post(self, path: str = "", **kwargs) -> httpx.Response:
        return httpx.post(self.base + path, headers=self.headers, timeout=60, **kwargs)

    def get(self, path: str = "") -> httpx.Response:
        return httpx.get(self.base + path, headers=self.headers, timeout=30)

    def delete(self, path: str) -> httpx.Response:
        return httpx.delete(self.base + path, headers=self.headers, timeout=30)

    def ingest(self, cid: str, filename: str, data: bytes, mime: str) -> dict:
        response = self.post(f"/{cid}/documents/ingest", files={"file": (filename, data, mime)})
        assert response.status_code == HTTPStatus.OK, response.text
        return response.json()

    def wait_ready(self, cid: str, doc_id: str) -> None:
        def ready() -> bool:
            status = self.get(f"/{cid}/documents/{doc_id}/status").json()
            assert status["status"] != "error", status
            return status["status"] == "ready"

        wait_for(ready, timeout=60, what=f"document {doc_id} to be ready")


@pytest.fixture
def api(server, make_key, priced) -> Api:
    return Api(server, make_key(scopes=["alretrieval"]))


def test_a_user_ingests_every_format_and_finds_the_right_pages(api, funded):
    from tests.ocr.pdfgen import text_layer_pdf

    created = api.post(json={"name": "Library"})
    assert created.status_code == HTTPStatus.OK
    cid = created.json()["collection_id"]
    assert len(cid) == 32 and int(cid, 16) >= 0
    docs = {
        "notes.txt": api.ingest(cid, "notes.txt", b"Meeting notes about the budget.", "text/plain"),
        "guide.md": api.ingest(cid, "guide.md", f"# Harbour\n\n{EN}".encode(), "text/markdown"),
        "atlas.docx": api.ingest(
            cid,
            "atlas.docx",
            make_docx(("h", "Egypt"), ("p", "Cairo is the capital."), ("break", ""), ("p", AR)),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        "deck.pptx": api.ingest(
            cid,
            "deck.pptx",
            make_pptx(
                [
                    {"title": "Intro", "body": ["Welcome"]},
                    {"title": "Ships", "body": ["Merchant fleets of Venice"]},
                ]
            ),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        "report.pdf": api.ingest(
            cid,
            "report.pdf",
            text_layer_pdf("Seventeen ships counted by the keeper."),
            "application/pdf",
        ),
    }
    for answer in docs.values():
        assert answer["status"] == "queued" and answer["collection"] == cid
        api.wait_ready(cid, answer["id"])
    assert docs["atlas.docx"]["pages"] == 2 and docs["deck.pptx"]["pages"] == 2

    listing = api.get(f"/{cid}/documents").json()
    assert {d["filename"] for d in listing["documents"]} == set(docs)
    assert all(d["file_url"] and d["status"] == "ready" for d in listing["documents"])
    downloaded = httpx.get(
        next(d["file_url"] for d in listing["documents"] if d["filename"] == "notes.txt")
    )
    assert downloaded.content == b"Meeting notes about the budget."

    arabic = api.post(f"/{cid}/query", json={"query": "مكتبة الاسكندريه القديمه"}).json()
    top = arabic["context"][0]
    assert (top["document_id"], top["page_start"]) == (docs["atlas.docx"]["id"], 2)
    assert 0 < top["score"] <= 1
    english = api.post(f"/{cid}/query", json={"query": "Venice merchant fleets", "top_k": 3}).json()
    assert (english["context"][0]["document_id"], english["context"][0]["page_start"]) == (
        docs["deck.pptx"]["id"],
        2,
    )
    assert len(english["context"]) <= 3
    scoped = api.post(
        f"/{cid}/query", json={"query": "ships", "doc_ids": [docs["report.pdf"]["id"]]}
    ).json()
    assert scoped["effective_scope_doc_ids"] == [docs["report.pdf"]["id"]]

    def charged() -> list[UsageRecord] | None:
        drain_usage()
        records = list(UsageRecord.objects.filter(source="alretrieval", status="ok"))
        return records if len(records) == 4 else None

    records = wait_for(charged, timeout=20, what="4 usage records")
    by_endpoint = sorted((r.endpoint, r.units, r.cost_usd) for r in records)
    assert by_endpoint == [
        ("alretrieval.ingest", 1, PAGE_PRICE),
        ("alretrieval.query", 1, QUERY_PRICE),
        ("alretrieval.query", 1, QUERY_PRICE),
        ("alretrieval.query", 1, QUERY_PRICE),
    ]
    wallet = Wallet.objects.get(organization__personal_for=funded)
    assert wallet.balance_usd == Decimal(10) - PAGE_PRICE - 3 * QUERY_PRICE
    assert wallet.held_usd == 0


def test_json_pages_are_ingested_and_deleted(api):
    cid = api.post().json()["collection_id"]
    answer = api.post(
        f"/{cid}/documents/ingest",
        json={
            "title": "Memo",
            "filename": "memo.txt",
            "pages": ["first page", "second page about tea"],
        },
    )
    assert answer.status_code == HTTPStatus.OK and answer.json()["pages"] == 2
    doc_id = answer.json()["id"]
    api.wait_ready(cid, doc_id)
    assert api.delete(f"/{cid}/documents/{doc_id}").status_code == HTTPStatus.OK
    assert api.get(f"/{cid}/documents/{doc_id}/status").status_code == HTTPStatus.NOT_FOUND
    assert api.delete(f"/{cid}").status_code == HTTPStatus.OK
    assert api.get(f"/{cid}/documents").status_code == HTTPStatus.NOT_FOUND


def test_bob_never_sees_alices_collections(api, server, make_key, bob):
    cid = api.post().json()["collection_id"]
    doc = api.post(f"/{cid}/documents/ingest", json={"pages": ["secret"]}).json()["id"]
    bobs = Api(server, make_key(owner=bob, scopes=["alretrieval"]))
    assert bobs.get().json()["collections"] == []
    for response in (
        bobs.get(f"/{cid}/documents"),
        bobs.get(f"/{cid}/documents/{doc}/status"),
        bobs.post(f"/{cid}/query", json={"query": "secret"}),
        bobs.post(f"/{cid}/documents/ingest", json={"pages": ["x"]}),
        bobs.delete(f"/{cid}/documents/{doc}"),
        bobs.delete(f"/{cid}"),
    ):
        assert response.status_code == HTTPStatus.NOT_FOUND, response.text
        assert response.json()["error"]["type"] == "not_found_error"
    # alice's own scope with bob's document id is a 404 too
    bob_cid = bobs.post().json()["collection_id"]
    bob_doc = bobs.post(f"/{bob_cid}/documents/ingest", json={"pages": ["mine"]}).json()["id"]
    assert (
        api.post(f"/{cid}/query", json={"query": "mine", "doc_ids": [bob_doc]}).status_code
        == HTTPStatus.NOT_FOUND
    )


@pytest.mark.parametrize(
    ("files", "json_body", "content_type", "status"),
    [
        ({"file": ("empty.txt", b"", "text/plain")}, None, None, 400),
        ({"file": ("virus.exe", b"MZ", "application/octet-stream")}, None, None, 400),
        ({"file": ("latin1.txt", "café".encode("latin-1"), "text/plain")}, None, None, 400),
        (
            {
                "file": (
                    "bomb.docx",
                    b"PK\x03\x04garbage",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                )
            },
            None,
            None,
            400,
        ),
        (None, None, "text/csv", 415),
    ],
    ids=["empty", "unsupported", "not-utf8", "corrupt-docx", "content-type"],
)
def test_bad_input_gets_its_code(api, files, json_body, content_type, status):
    cid = api.post().json()["collection_id"]
    kwargs = (
        {"files": files}
        if files
        else {"content": b"a,b", "headers": {**api.headers, "Content-Type": content_type}}
    )
    if files:
        response = api.post(f"/{cid}/documents/ingest", **kwargs)
    else:
        response = httpx.post(api.base + f"/{cid}/documents/ingest", timeout=30, **kwargs)
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) == {"message", "type", "code", "param"}
    assert "x-request-id" in response.headers and "x-ratelimit-limit" in response.headers


def test_a_query_without_a_query_is_422_and_costs_nothing(api, funded):
    cid = api.post().json()["collection_id"]
    response = api.post(f"/{cid}/query", json={})
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    drain_usage()
    assert Wallet.objects.get(organization__personal_for=funded).balance_usd == 10
    assert Wallet.objects.get(organization__personal_for=funded).held_usd == 0


def test_a_pdf_the_wallet_cannot_cover_is_402_and_nothing_is_queued(
    server, make_key, priced, charlie
):
    from tests.ocr.pdfgen import text_layer_pdf

    api = Api(server, make_key(owner=charlie, scopes=["alretrieval"]))
    cid = api.post().json()["collection_id"]
    response = api.post(
        f"/{cid}/documents/ingest",
        files={"file": ("r.pdf", text_layer_pdf("x y z"), "application/pdf")},
    )
    assert response.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert api.get(f"/{cid}/documents").json()["documents"] == []


def test_hostile_doc_ids_are_a_404_not_a_server_error(api):
    cid = api.post().json()["collection_id"]
    for doc_ids in (["a\u0000b"], ["x" * 10_000], ["²"]):
        response = api.post(f"/{cid}/query", json={"query": "tea", "doc_ids": doc_ids})
        assert response.status_code == HTTPStatus.NOT_FOUND, response.text
    for doc_ids, param in (("abc", "doc_ids"), ([1], "doc_ids[0]"), ([["nested"]], "doc_ids[0]")):
        response = api.post(f"/{cid}/query", json={"query": "tea", "doc_ids": doc_ids})
        assert response.status_code == HTTPStatus.BAD_REQUEST, response.text
        assert response.json()["error"]["param"] == param
