"""Celery tasks: thin wrappers around OCR's use cases (which queue them by name, see
``ocr.queueing``, and import nothing from here)."""

from __future__ import annotations

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.signals import worker_ready

from ocr import lifecycle
from ocr.availability import report_engine_state
from ocr.engine import PdfError
from ocr.pages import fail_ocr_page, process_ocr_page
from ocr.queueing import requeue_lost_pages
from ocr.settlement import settle_unbilled_jobs


class PageTask(DjangoTask):
    """A page whose transient failures outlasted every retry fails for this run."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        job_id, page_num, attempt = args
        problem = report_engine_state()
        if problem:
            message = (
                f"The OCR engine cannot run on this server ({problem}); retrying will not "
                "help until an operator installs it."
            )
        else:
            cause = str(exc).strip()[:200] or "no details"
            message = (
                f"The OCR engine failed on this page {self.max_retries + 1} times "
                f"({type(exc).__name__}: {cause}). Retrying the job may help."
            )
        fail_ocr_page(job_id, page_num, attempt, message)


@shared_task(
    base=PageTask,
    ignore_result=True,
    acks_late=True,
    autoretry_for=(Exception,),
    dont_autoretry_for=(PdfError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=3,
)
def process_page(job_id: int, page_num: int, attempt: int) -> None:
    process_ocr_page(job_id, page_num, attempt)


@worker_ready.connect
def report_engine_state_on_start(**kwargs) -> None:
    report_engine_state()


@shared_task(ignore_result=True)
def sweep_jobs() -> int:
    report_engine_state()
    return settle_unbilled_jobs() + lifecycle.retry_failed_jobs() + requeue_lost_pages()


@shared_task(ignore_result=True)
def expire_jobs() -> int:
    return lifecycle.expire_ocr_jobs()
