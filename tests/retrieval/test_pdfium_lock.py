"""Retrieval reads PDFs through OCR's reading service, so one pdfium lock (pdfium is not
thread-safe) guards an OCR upload and a retrieval upload in the same process alike.

While a thread holds ``ocr.engine.PDFIUM_LOCK``, neither path gets to pdfium: both
wait, and both finish once it is released. (A path with a lock of its own, or none,
would finish while the lock is held, and the first assertion would fail.)"""

from __future__ import annotations

import threading

from ocr import engine, reading, uploads
from retrieval import ingest
from tests.ocr.pdfgen import text_layer_pdf


def run_while_locked(calls: dict) -> list[str]:
    done: list[str] = []
    errors: list[BaseException] = []

    def run(name, call):
        try:
            call()
            done.append(name)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in calls.items()]
    with engine.PDFIUM_LOCK:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=1)
        assert done == [], f"{done} called pdfium while another thread held the lock"
        assert all(thread.is_alive() for thread in threads)
    for thread in threads:
        thread.join()
    assert not errors, errors
    return sorted(done)


def test_an_ocr_upload_and_a_retrieval_pdf_wait_for_the_same_pdfium_lock():
    pdf = text_layer_pdf("Harbour budget notes.")
    finished = run_while_locked(
        {
            "ocr upload": lambda: uploads.validate_pdf(pdf),
            "retrieval upload": lambda: ingest.validate_pdf(pdf),
        }
    )
    assert finished == ["ocr upload", "retrieval upload"]


def test_reading_a_page_waits_for_it_too(tmp_path):
    """OCR's page task and retrieval's indexing read pages through ``reading.read_page``."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(text_layer_pdf("Harbour budget notes."))
    results = []
    finished = run_while_locked(
        {"page": lambda: results.append(reading.read_page(str(path), 1, dpi=100))}
    )
    assert finished == ["page"] and results[0].text.strip()
