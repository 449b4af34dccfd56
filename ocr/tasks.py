"""Celery tasks: thin wrappers around ``ocr.flows``."""

from __future__ import annotations

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.signals import worker_ready

from ocr import flows, lifecycle
from ocr.engine import PdfError


class PageTask(DjangoTask):
    """A page whose transient failures outlasted every retry fails for this run."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        job_id, page_num, attempt = args
        problem = flows.report_engine_state()
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
        flows.fail_ocr_page(job_id, page_num, attempt, message)


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
    flows.process_ocr_page(job_id, page_num, attempt)


@worker_ready.connect
def report_engine_state_on_start(**kwargs) -> None:
    flows.report_engine_state()


@shared_task(ignore_result=True)
def sweep_jobs() -> int:
    flows.report_engine_state()
    return flows.settle_unbilled_jobs() + lifecycle.retry_failed_jobs() + flows.requeue_lost_pages()


@shared_task(ignore_result=True)
def expire_jobs() -> int:
    return lifecycle.expire_ocr_jobs()
