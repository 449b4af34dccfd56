from __future__ import annotations

from pathlib import Path

from django.db import transaction

from accounts.tasks import send_email
from tests.support.processes import wait_for


def mails_to(folder: Path, address: str) -> list[str]:
    return [text for f in folder.glob("*.log") if address in (text := f.read_text())]


def test_a_task_queued_on_commit_runs_on_a_real_worker(celery_worker):
    with transaction.atomic():
        send_email.delay_on_commit(
            subject="hello", body="from a worker", to=["committed@example.com"]
        )

    found = wait_for(
        lambda: mails_to(celery_worker.mail_dir, "committed@example.com"),
        timeout=30,
        what="the worker to send the mail",
    )
    assert "from a worker" in found[0]


def test_a_task_queued_in_a_rolled_back_transaction_never_runs(celery_worker):
    class Abort(Exception):
        pass

    try:
        with transaction.atomic():
            send_email.delay_on_commit(subject="x", body="never", to=["rolled-back@example.com"])
            raise Abort
    except Abort:
        pass
    # A later task on the same queue has run, so the first would have run before it.
    send_email.delay_on_commit(subject="y", body="marker", to=["marker@example.com"])
    wait_for(
        lambda: mails_to(celery_worker.mail_dir, "marker@example.com"),
        timeout=30,
        what="the marker mail",
    )
    assert mails_to(celery_worker.mail_dir, "rolled-back@example.com") == []
