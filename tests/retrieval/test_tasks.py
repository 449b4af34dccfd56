"""Indexing in the background: a real Celery worker, and PDFs through the OCR engine."""

from __future__ import annotations

import pytest
from django.conf import settings

from retrieval import api, collections, documents, indexing, ingest, querying
from retrieval.models import Document
from tests.retrieval.conftest import make_docx
from tests.support.admission import admitted_call
from tests.support.processes import wait_for


def test_a_real_worker_indexes_an_ingested_document(alice, celery_worker):
    collection = collections.create_collection(alice)
    cid = collection.collection_id
    data = make_docx(("h", "Minutes"), ("p", "The board approved the harbour budget."))
    doc = ingest.ingest_file(alice, cid, "minutes.docx", "", data)
    assert ingest.ingest_answer(doc)["status"] == "queued"
    wait_for(
        lambda: documents.document_status(alice, cid, doc.doc_id)["status"] == "ready",
        timeout=30,
        what="the worker to index the document",
    )
    hit = querying.query(alice, cid, "harbour budget")["context"][0]
    assert (hit["document_id"], hit["title"], hit["page_start"]) == (doc.doc_id, "Minutes", 1)


@pytest.mark.django_db(transaction=True)
def test_a_pdf_with_a_text_layer_is_read_page_by_page(alice):
    from tests.ocr.pdfgen import text_layer_pdf

    collection = collections.create_collection(alice)
    cid = collection.collection_id
    data = text_layer_pdf("Quarterly report: the lighthouse keeper counted seventeen ships.")
    call = admitted_call(alice, settings.RETRIEVAL_MODEL, settings.OCR_PAGE_MODEL)
    doc = ingest.ingest_file(
        alice, cid, "report.pdf", "application/pdf", data, charge=api.pdf_charge(call)
    )
    assert doc.pages == 1
    status = documents.document_status(alice, cid, doc.doc_id)
    assert status["status"] == "ready", status
    hit = querying.query(alice, cid, "lighthouse ships")["context"][0]
    assert (hit["page_start"], hit["is_direct_hit"]) == (1, True)


@pytest.mark.django_db(transaction=True)
def test_a_failure_while_indexing_leaves_the_document_in_error(alice, monkeypatch):
    from retrieval import index

    def broken(document, prepared=None, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(indexing, "index_document", broken)
    collection = collections.create_collection(alice)
    doc = ingest.ingest_pages(alice, collection.collection_id, "t", None, ["text"])
    status = documents.document_status(alice, collection.collection_id, doc.doc_id)
    assert status["status"] == "error"
    assert "disk on fire" not in status["error"]  # no internals in the answer
    assert Document.objects.get(pk=doc.pk).status == Document.Status.ERROR
    assert index  # the real module is untouched
