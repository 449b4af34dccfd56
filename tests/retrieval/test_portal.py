"""The Retrieval pages through Django's test client: collections, uploads of several
files, live status, page text, the charged search and the playground hand-off."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.credits import credit
from billing.models import Hold, Wallet
from catalog.models import Model
from retrieval import ingest
from retrieval.models import Collection, Document
from tests.support.html import visible_text
from tests.support.orgs import org_id
from usage.drain import discard_pending_events, drain_usage
from usage.models import UsageRecord

# Indexing is queued with delay_on_commit, so the tests commit.
pytestmark = pytest.mark.django_db(transaction=True)
QUERY_PRICE = Decimal("0.002")
PAGE_PRICE = Decimal("0.01")
AR = "تقع مدينة الإسكندرية على ساحل البحر الأبيض المتوسط وتشتهر بمكتبتها القديمة."
EN = "The lighthouse of Alexandria guided ships into the harbour for centuries."


@pytest.fixture
def priced(db):
    discard_pending_events()
    Model.objects.create(public_id="portico/alretrieval", type="retrieval", unit_price=QUERY_PRICE)
    Model.objects.create(public_id="portico/ocr", type="ocr", unit_price=PAGE_PRICE)


def fund(user, amount: str = "10") -> None:
    credit(org_id(user), Decimal(amount), kind="adjustment", idempotency_key=f"fund:{user.pk}")


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def url(name: str, *args) -> str:
    return reverse(name, args=args)


def upload(client, collection, *files):
    return client.post(url("retrieval-collection", collection.collection_id), {"files": files})


def text_file(name: str, text: str | bytes, mime: str = "text/plain") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text, mime)


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<a>" + b" " * (60 * 1024 * 1024) + b"</a>")
    return out.getvalue()


# --- Collections ---------------------------------------------------------------------------
def test_a_user_creates_renames_and_deletes_a_collection(signed_in, alice):
    page = signed_in.get(url("retrieval"))
    assert page.status_code == HTTPStatus.OK
    assert b"No collections yet" in page.content
    assert b'href="/retrieval/"' in page.content  # the nav entry

    created = signed_in.post(url("retrieval-create"), {"name": "  Policies  "})
    collection = Collection.objects.get(owner=alice)
    assert created.status_code == HTTPStatus.FOUND
    assert created["Location"] == url("retrieval-collection", collection.collection_id)
    assert collection.name == "Policies"
    assert "Policies" in signed_in.get(url("retrieval")).content.decode()

    renamed = signed_in.post(url("retrieval-rename", collection.collection_id), {"name": "سياسات"})
    assert renamed.status_code == HTTPStatus.FOUND
    collection.refresh_from_db()
    assert collection.name == "سياسات"
    too_long = signed_in.post(
        url("retrieval-rename", collection.collection_id), {"name": "x" * 201}, follow=True
    )
    assert "limited to 200 characters" in too_long.content.decode()
    collection.refresh_from_db()
    assert collection.name == "سياسات"

    ingest.ingest_file(alice, collection.collection_id, "a.txt", "text/plain", EN.encode())
    deleted = signed_in.post(url("retrieval-delete", collection.collection_id))
    assert deleted.status_code == HTTPStatus.FOUND and deleted["Location"] == url("retrieval")
    assert not Collection.objects.exists() and not Document.objects.exists()


def test_the_pages_need_a_signed_in_user(client, collection):
    for target in (url("retrieval"), url("retrieval-collection", collection.collection_id)):
        response = client.get(target)
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("account_login"))
    response = client.post(url("retrieval-search", collection.collection_id), {"q": "x"})
    assert response.status_code == HTTPStatus.FOUND


# --- Uploads ---------------------------------------------------------------------------------
def test_several_files_are_ingested_and_refusals_shown_next_to_their_names(signed_in, collection):
    response = upload(
        signed_in,
        collection,
        text_file("notes.txt", EN),
        text_file("guide.md", f"# Harbour\n\n{AR}", "text/markdown"),
        text_file("tool.exe", b"MZ..."),
        text_file("latin1.txt", "café".encode("latin-1")),
        text_file(
            "bomb.docx",
            zip_bomb(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    )
    assert response.status_code == HTTPStatus.OK
    uploads = {u["name"]: u for u in response.context["uploads"]}
    assert uploads["notes.txt"]["ok"] and uploads["guide.md"]["ok"]
    assert uploads["tool.exe"]["code"] == "unsupported_file_type"
    assert uploads["latin1.txt"]["code"] == "invalid_utf8"
    assert uploads["bomb.docx"]["code"] == "zip_bomb"
    html = response.content.decode()
    assert "Unsupported file type" in html and "refused" in html
    documents = Document.objects.filter(collection=collection)
    assert sorted(d.filename for d in documents) == ["guide.md", "notes.txt"]
    assert all(d.status == Document.Status.READY for d in documents)  # tasks ran eagerly


def test_an_upload_with_no_files_is_refused(signed_in, collection):
    response = signed_in.post(url("retrieval-collection", collection.collection_id))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Choose one or more files" in response.content.decode()


def test_a_pdf_is_held_like_the_api_and_402_when_the_wallet_cannot_cover_it(
    signed_in, alice, collection, priced
):
    from tests.ocr.pdfgen import text_layer_pdf

    pdf = text_file("report.pdf", text_layer_pdf("Seventeen ships."), "application/pdf")
    refused = upload(signed_in, collection, pdf)
    assert refused.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert refused.context["uploads"][0]["code"] == "insufficient_balance"
    assert "Top up your wallet" in refused.content.decode()
    assert not Document.objects.exists()

    fund(alice)
    pdf.seek(0)
    assert upload(signed_in, collection, pdf).status_code == HTTPStatus.OK
    document = Document.objects.get()
    assert document.billing_request_id.startswith("req_")  # the upload's admission
    assert document.api_key_id is None
    assert document.status == Document.Status.READY and document.billed
    drain_usage()
    record = UsageRecord.objects.get(request_id=document.billing_request_id)
    assert (record.source, record.endpoint, record.units) == (
        "alretrieval",
        "alretrieval.ingest",
        1,
    )
    assert (
        Wallet.objects.get(organization__personal_for=alice).balance_usd == Decimal(10) - PAGE_PRICE
    )


# --- Documents -------------------------------------------------------------------------------
def test_the_documents_partial_polls_while_one_is_pending_and_stops_when_none_is(
    signed_in, alice, collection
):
    document = ingest.ingest_file(alice, collection.collection_id, "a.txt", "text/plain", b"hi")
    Document.objects.filter(pk=document.pk).update(status=Document.Status.PROCESSING)
    partial = signed_in.get(
        url("retrieval-documents", collection.collection_id), headers={"HX-Request": "true"}
    ).content.decode()
    assert "<html" not in partial
    assert 'hx-trigger="every 1s"' in partial and "processing" in partial

    Document.objects.filter(pk=document.pk).update(status="error", error="Could not read it.")
    partial = signed_in.get(url("retrieval-documents", collection.collection_id)).content.decode()
    assert "hx-trigger" not in partial
    assert "Could not read it." in partial and "0 of 1 document ready" in partial


def test_a_document_is_deleted(signed_in, alice, collection):
    document = ingest.ingest_file(alice, collection.collection_id, "a.txt", "text/plain", b"hi")
    response = signed_in.post(
        url("retrieval-document-delete", collection.collection_id, document.doc_id)
    )
    assert response.status_code == HTTPStatus.FOUND
    assert not Document.objects.exists()


def test_a_page_shows_its_text_with_the_query_words_marked(signed_in, alice, collection):
    document = ingest.ingest_file(
        alice, collection.collection_id, "guide.md", "text/markdown", f"# Harbour\n\n{AR}".encode()
    )
    response = signed_in.get(
        url("retrieval-page", collection.collection_id, document.doc_id, 1),
        {"q": "الاسكندريه"},
    )
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "<mark>الإسكندرية</mark>" in html and "Harbour" in html
    missing = url("retrieval-page", collection.collection_id, document.doc_id, 2)
    assert signed_in.get(missing).status_code == HTTPStatus.NOT_FOUND
    original = signed_in.get(url("retrieval-original", collection.collection_id, document.doc_id))
    assert b"".join(original.streaming_content).decode() == f"# Harbour\n\n{AR}"
    assert "attachment" not in original.get("Content-Disposition", "")
    assert original["Content-Type"] == "text/markdown; charset=utf-8"


# --- Search ----------------------------------------------------------------------------------
def test_a_search_is_charged_like_an_api_query_and_marks_the_matched_words(
    signed_in, alice, collection, priced
):
    fund(alice)
    upload(
        signed_in,
        collection,
        text_file("notes.txt", EN),
        text_file("guide.md", f"# Harbour\n\n{AR}", "text/markdown"),
    )
    guide = Document.objects.get(filename="guide.md")

    # Informal Arabic (bare alef, ه for ة) meets the formal spelling.
    response = signed_in.post(
        url("retrieval-search", collection.collection_id),
        {"q": "الاسكندريه القديمه"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "<html" not in html
    assert "<mark>الإسكندرية</mark>" in html and "<mark>القديمة</mark>" in html
    assert "guide.md, page 1" in html and "cost $0.002" in visible_text(html)
    link = url("retrieval-page", collection.collection_id, guide.doc_id, 1)
    assert f'href="{link}?q=' in html
    assert response["x-request-id"].startswith("req_")

    # Without htmx (no script) the whole page comes back, the results in place.
    english = signed_in.post(url("retrieval-search", collection.collection_id), {"q": "ships"})
    html = english.content.decode()
    assert "<html" in html and 'value="ships"' in html
    assert "<mark>ships</mark>" in html and "notes.txt, page 1" in html

    # A hold was taken under each request id, then the usage event settled it.
    ids = [response["x-request-id"], english["x-request-id"]]
    assert Hold.objects.filter(request_id__in=ids).count() == 2
    drain_usage()
    records = UsageRecord.objects.filter(request_id__in=ids)
    assert {(r.source, r.endpoint, r.model, r.units, r.cost_usd) for r in records} == {
        ("alretrieval", "alretrieval.query", "portico/alretrieval", 1, QUERY_PRICE)
    }
    wallet = Wallet.objects.get(organization__personal_for=alice)
    assert wallet.balance_usd == Decimal(10) - 2 * QUERY_PRICE and wallet.held_usd == 0


def test_a_search_the_wallet_cannot_cover_is_refused_and_free(signed_in, alice, collection, priced):
    ingest.ingest_file(alice, collection.collection_id, "a.txt", "text/plain", EN.encode())
    response = signed_in.post(url("retrieval-search", collection.collection_id), {"q": "ships"})
    assert response.status_code == HTTPStatus.OK  # htmx swaps only 2xx: the refusal is shown
    html = response.content.decode()
    assert 'role="alert"' in html and "Top up your wallet" in html
    blank = signed_in.post(url("retrieval-search", collection.collection_id), {"q": "  "})
    assert "Missing required parameter" in blank.content.decode()
    drain_usage()
    assert not UsageRecord.objects.filter(status="ok").exists()


def test_a_pdf_passage_links_to_the_original_at_its_page(signed_in, alice, collection):
    from tests.ocr.pdfgen import text_layer_pdf

    upload(
        signed_in,
        collection,
        text_file("r.pdf", text_layer_pdf("Seventeen ships."), "application/pdf"),
    )
    document = Document.objects.get()
    html = signed_in.post(
        url("retrieval-search", collection.collection_id), {"q": "ships"}
    ).content.decode()
    assert url("retrieval-original", collection.collection_id, document.doc_id) + "#page=1" in html


def test_use_in_playground_prefills_the_system_prompt_once(signed_in, alice, collection):
    ingest.ingest_file(alice, collection.collection_id, "notes.txt", "text/plain", EN.encode())
    results = signed_in.post(url("retrieval-search", collection.collection_id), {"q": "ships"})
    prefill = results.context["prefill"]
    assert "[1] notes.txt, p. 1" in prefill and "lighthouse" in prefill
    assert 'name="context"' in results.content.decode()

    response = signed_in.post(url("retrieval-playground"), {"context": prefill})
    assert response.status_code == HTTPStatus.FOUND and response["Location"] == url("playground")
    playground = signed_in.get(url("playground")).content.decode()
    assert "[1] notes.txt, p. 1" in playground and 'data-testid="pg-prefill"' in playground
    assert "[1] notes.txt" not in signed_in.get(url("playground")).content.decode()


def test_use_in_playground_puts_the_question_in_the_message_box_once(signed_in, alice, collection):
    ingest.ingest_file(alice, collection.collection_id, "notes.txt", "text/plain", EN.encode())
    results = signed_in.post(
        url("retrieval-search", collection.collection_id), {"q": "Which ships <came>?"}
    )
    assert 'name="question" value="Which ships &lt;came&gt;?"' in results.content.decode()

    signed_in.post(
        url("retrieval-playground"),
        {"context": results.context["prefill"], "question": "Which ships <came>?"},
    )

    playground = signed_in.get(url("playground")).content.decode()
    message_box = playground.split('id="pg-input"')[1].split("</textarea>")[0]
    assert message_box.endswith(">Which ships &lt;came&gt;?")
    again = signed_in.get(url("playground")).content.decode()
    assert "Which ships" not in again.split('id="pg-input"')[1].split("</textarea>")[0]


def test_the_session_keys_are_the_ones_the_playground_reads():
    from playground.views import PREFILL_SESSION_KEY, QUESTION_SESSION_KEY
    from retrieval.views import PLAYGROUND_PREFILL, PLAYGROUND_QUESTION

    assert PLAYGROUND_PREFILL == PREFILL_SESSION_KEY
    assert PLAYGROUND_QUESTION == QUESTION_SESSION_KEY


# --- Not yours -------------------------------------------------------------------------------
def test_bob_never_sees_alices_collections(client, alice, bob, collection):
    document = ingest.ingest_file(alice, collection.collection_id, "a.txt", "text/plain", b"hi")
    client.force_login(bob)
    assert collection.collection_id not in client.get(url("retrieval")).content.decode()
    cid, did = collection.collection_id, document.doc_id
    for method, target in [
        ("get", url("retrieval-collection", cid)),
        ("post", url("retrieval-collection", cid)),
        ("get", url("retrieval-documents", cid)),
        ("post", url("retrieval-rename", cid)),
        ("post", url("retrieval-delete", cid)),
        ("post", url("retrieval-search", cid)),
        ("post", url("retrieval-document-delete", cid, did)),
        ("get", url("retrieval-page", cid, did, 1)),
        ("get", url("retrieval-original", cid, did)),
    ]:
        data = {"q": "hi", "name": "mine"} if method == "post" else None
        response = getattr(client, method)(target, data)
        assert response.status_code == HTTPStatus.NOT_FOUND, (method, target)
    collection.refresh_from_db()
    assert collection.name == "alice's papers"
    assert Document.objects.filter(pk=document.pk).exists()
    assert not UsageRecord.objects.exists()


def test_vector_stores_are_the_collections_and_their_files_show_ids_and_attributes(
    signed_in, alice, collection
):
    from retrieval import files, vector_store_files

    file = files.create_file(alice, "policy.txt", "text/plain", b"Leave policy.", "assistants")
    vector_store_files.attach_file(
        alice, collection.vector_store_id, file.file_id, {"dept": "HR", "year": 2026}, None, None
    )
    home = visible_text(signed_in.get(url("retrieval")).content.decode())
    assert collection.vector_store_id in home
    page = visible_text(
        signed_in.get(url("retrieval-collection", collection.collection_id)).content.decode()
    )
    assert file.file_id in page and "dept: HR" in page and "year: 2026" in page
