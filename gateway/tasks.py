from __future__ import annotations

from celery import shared_task

from gateway.metering import drain_usage as drain_usage_flow


@shared_task(ignore_result=True)
def drain_usage() -> int:
    return drain_usage_flow()
