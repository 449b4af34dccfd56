"""What ``/v1/models``, ``/v1/models/catalog``, ``/v1/usage`` and ``/v1/wallet`` take and
answer, as ninja ``Schema``s (after API.md). The query options are checked here, once
(``ground.bodies.parse_query``); the answers describe ``gateway.catalog_views``,
``usage.records`` and ``billing``'s wallet summary for the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import Field

from ground.bodies import ascii_int, text

MAX_USAGE_LIMIT = 100


# --- Requests -----------------------------------------------------------------------------------
class CatalogQuery(Schema):
    provider: text(200) = Field("", description="Only this provider's models.")
    search: text(200) = Field("", description="Words in the model's id, name or provider.")


class UsageQuery(Schema):
    model: text(200) = Field("", description="Only this model's records.")
    limit: ascii_int(ge=1, le=MAX_USAGE_LIMIT) = Field(
        20, description=f"Records per page, 1 to {MAX_USAGE_LIMIT}."
    )
    after: text(200) = Field("", description="The `id` of the last record seen (`usage_123`).")


# --- Answers ------------------------------------------------------------------------------------
ModelType = Literal["llm", "embedding"]


class ModelObject(Schema):
    id: str = Field(description="A plain id, or `provider/model`.")
    object: Literal["model"]
    created: int = Field(description="Unix seconds.")
    owned_by: str
    type: ModelType


class ModelList(Schema):
    object: Literal["list"]
    data: list[ModelObject]


class Pricing(Schema):
    input_per_1m: float = Field(description="USD per million input tokens.")
    output_per_1m: float = Field(description="USD per million output tokens.")
    cached_input_per_1m: float | None
    currency: Literal["USD"]


class LatencyStats(Schema):
    """Measured on real traffic over ``window``; the figures are absent with no samples."""

    window: str = Field(description="`24h` or `1h`.")
    sample_size: int
    average_ms: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    ttft_average_ms: float | None = Field(None, description="Time to first token.")
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None
    tokens_per_second: float | None = None
    gateway_overhead_ms: float | None = None
    error_rate: float | None = None


class CatalogEntry(ModelObject):
    name: str
    description: str
    provider: str
    providers: list[str]
    context_window: int | None
    max_output_tokens: int | None
    pricing: Pricing
    latency: LatencyStats
    latency_1h: LatencyStats
    allowed: bool = Field(description="Whether this key may use the model.")


class Catalog(Schema):
    object: Literal["list"]
    data: list[CatalogEntry]


class UsageRecord(Schema):
    id: str = Field(description="`usage_<n>`, or `usage_pending_<request id>` until recorded.")
    object: Literal["usage_record"]
    model: str
    source: str = Field(description="`api_key`, `playground`, `ocr` or `alretrieval`.")
    input_tokens: int
    output_tokens: int
    total_tokens: int
    created_at: int = Field(description="Unix seconds.")
    cost_usd: float
    cost_usd_exact: str = Field(description="The cost as a decimal string.")
    request_id: str
    endpoint: str
    provider: str
    status: str
    http_status: int
    stream: bool
    cached_tokens: int
    tokens_reported: bool
    latency_ms: int
    ttft_ms: int | None
    organization: str | None = Field(description="The organization whose wallet paid (`org-…`).")
    project: str | None = Field(description="The project it counts against (`proj_…`).")


class UsagePage(Schema):
    object: Literal["list"]
    data: list[UsageRecord] = Field(description="Newest first.")
    has_more: bool
    organization: str | None = Field(description="The key's organization (`org-…`).")
    project: str | None = Field(description="The key's project (`proj_…`).")


class Wallet(Schema):
    balance_usd: str = Field(description="A decimal string.")
    held_usd: str = Field(description="Held for requests in flight.")
    available_usd: str
    unpaid_usd: str
    currency: Literal["USD"]
    organization: str = Field(description="The organization the wallet belongs to (`org-…`).")
    project: str | None = Field(description="The key's project (`proj_…`).")
