"""``GET /metrics``: every process's counters added up, plus gauges read at scrape time.

Who may scrape (docs/metrics.md):

* ``METRICS_TOKEN`` set: only a request with ``Authorization: Bearer <METRICS_TOKEN>``,
  from any address; anything else is a 401.
* ``METRICS_TOKEN`` unset: only a direct peer (the TCP peer address, never a header)
  on loopback (127.0.0.0/8, ::1) or a private network (10/8, 172.16/12, 192.168/16,
  fc00::/7), and only without any header a proxy adds (``X-Forwarded-*``,
  ``Forwarded``, ``Via``, ``X-Real-IP``, CDNs' client-IP headers such as
  ``CF-Connecting-IP`` or ``True-Client-IP``): a request a reverse proxy relays comes from
  the proxy's address and would otherwise pass for a local one. Anything else is a 403.

The answer is never cached (``Cache-Control: no-store``) and, being outside ``/v1``,
never counts against a key's rate limits. Like ``/v1`` it is served by the lean ASGI
handler (``portal.asgi``): no session, CSRF or page middleware on each scrape. Counters and histograms come from the files
of ``PROMETHEUS_MULTIPROC_DIR`` (``ground.metrics``); the gauges below are counted
in the database when scraped, on a worker thread so the API's thread never waits.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterator
from http import HTTPStatus

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from billing.models import Hold
from gateway.authentication import bearer_token
from ground.errors import error_response
from ocr.models import OcrJob, OcrPage
from retrieval.models import Document
from usage.drain import pending_count

log = logging.getLogger(__name__)
# Headers that proxies, load balancers and CDNs add to what they relay: a request carrying
# any of them came through one, whatever its TCP peer address says.
FORWARDING_HEADERS = frozenset(
    {
        "HTTP_FORWARDED",
        "HTTP_VIA",
        "HTTP_X_REAL_IP",
        "HTTP_TRUE_CLIENT_IP",
        "HTTP_CLIENT_IP",
        "HTTP_X_CLIENT_IP",
        "HTTP_X_CLUSTER_CLIENT_IP",
        "HTTP_X_PROXYUSER_IP",
        "HTTP_CF_CONNECTING_IP",
        "HTTP_FASTLY_CLIENT_IP",
        "HTTP_X_AZURE_CLIENTIP",
        "HTTP_X_APPENGINE_USER_IP",
    }
)
FORWARDING_PREFIXES = ("HTTP_X_FORWARDED_", "HTTP_X_ORIGINAL_FORWARDED")


def relayed(meta: dict) -> bool:
    """Whether a request carries any header a proxy adds (``X-Forwarded-*``, ``Forwarded``,
    ``Via``, the client-IP headers of CDNs and load balancers)."""
    return any(name in FORWARDING_HEADERS or name.startswith(FORWARDING_PREFIXES) for name in meta)


def refusal(request: HttpRequest) -> HttpResponse | None:
    """Why this request may not scrape, as a response; ``None`` when it may."""
    expected = settings.METRICS_TOKEN
    if expected:
        token = bearer_token(request) or ""
        if not hmac.compare_digest(token.encode("utf-8", "replace"), expected.encode("utf-8")):
            response = error_response(
                HTTPStatus.UNAUTHORIZED,
                "Send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'.",
                code="invalid_metrics_token",
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return None
    if internal_peer(request):
        return None
    return error_response(
        HTTPStatus.FORBIDDEN,
        "Metrics are served to loopback and private-network scrapers only; "
        "set METRICS_TOKEN to scrape from elsewhere.",
        code="metrics_not_allowed",
    )


def internal_peer(request: HttpRequest) -> bool:
    if relayed(request.META):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_private


class ScrapeTimeCollector:
    """Gauges counted when scraped: open holds, queued OCR and retrieval work, undrained
    usage events. A part whose query fails is left out (and logged), not the scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for part in (self.holds, self.ocr, self.retrieval, self.usage):
            try:
                yield from part()
            except (DatabaseError, OSError, ConnectionError) as exc:
                log.warning("metrics: %s failed: %s", part.__name__, exc)

    def holds(self) -> Iterator[GaugeMetricFamily]:
        totals = Hold.objects.filter(status=Hold.Status.OPEN).aggregate(
            count=Count("pk"), amount=Sum("amount_usd")
        )
        yield GaugeMetricFamily(
            "portico_holds_open", "Funds holds of requests in flight.", value=totals["count"]
        )
        yield GaugeMetricFamily(
            "portico_holds_open_usd",
            "US dollars held for requests in flight (funds leases included).",
            value=float(totals["amount"] or 0),
        )
        leases = Hold.objects.filter(status=Hold.Status.OPEN, kind=Hold.Kind.LEASE).aggregate(
            count=Count("pk"), amount=Sum("amount_usd")
        )
        yield GaugeMetricFamily(
            "portico_funds_leases_open",
            "Funds leases web processes hold (part of portico_holds_open).",
            value=leases["count"],
        )
        yield GaugeMetricFamily(
            "portico_funds_leases_open_usd",
            "US dollars under funds leases (part of portico_holds_open_usd).",
            value=float(leases["amount"] or 0),
        )

    def ocr(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "portico_ocr_jobs", "OCR jobs waiting or being read, by status.", labels=["status"]
        )
        counts = dict(
            OcrJob.objects.filter(status__in=(OcrJob.Status.QUEUED, OcrJob.Status.PROCESSING))
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        for status in (OcrJob.Status.QUEUED, OcrJob.Status.PROCESSING):
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs
        pending = OcrPage.objects.filter(status=OcrPage.Status.PENDING).count()
        yield GaugeMetricFamily(
            "portico_ocr_pages_pending", "OCR pages not read yet.", value=pending
        )

    def retrieval(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "portico_retrieval_documents",
            "Retrieval documents waiting or being indexed, by status.",
            labels=["status"],
        )
        waiting = (Document.Status.QUEUED, Document.Status.PROCESSING)
        counts = dict(
            Document.objects.filter(status__in=waiting)
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        for status in waiting:
            family.add_metric([status], counts.get(status, 0))
        yield family

    def usage(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "portico_usage_events_pending",
            "Usage events durable but not drained into the database yet.",
            value=pending_count(),
        )


def exposition() -> bytes:
    """Every process's metrics and the scrape-time gauges, in the text format."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:  # one process (the variable was not set before prometheus_client was imported)
        registry.register(REGISTRY)
    registry.register(ScrapeTimeCollector())
    return generate_latest(registry)


@require_http_methods(["GET", "HEAD"])
async def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_ENABLED:
        return error_response(HTTPStatus.NOT_FOUND, "Metrics are turned off (METRICS_ENABLED=0).")
    response = refusal(request)
    if response is None:
        body = await sync_to_async(exposition, thread_sensitive=False)()
        response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
