"""One ``/v1`` request on its way through admission, routing and metering: who calls, which
model and deployment, the headers every answer carries, and the timings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from accounts.snapshots import KeyContext
from catalog.snapshots import DeploymentEntry, ModelEntry
from ground.ids import new_request_id


@dataclass
class Call:
    """One ``/v1`` request on its way through admission, routing and metering."""

    ctx: KeyContext | None = None
    endpoint: str = "none"
    source: str = "api_key"
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    started_wall: float = field(default_factory=time.time)
    headers: dict[str, str] = field(default_factory=dict)
    requested_model: str = ""
    model: ModelEntry | None = None
    stream: bool = False
    include_usage: bool = False
    est_prompt: int = 0
    max_output: int = 0
    rules: list = field(default_factory=list)
    admitted_tokens: int = 0
    deployment: DeploymentEntry | None = None
    fallbacks: int = 0
    upstream_started: float = 0.0
    upstream_ms: float = 0.0
    hold: object | None = None
    rate_checked: bool = False
    # The models admission let this call use (``admit_model``); a use case that spends
    # money on a model checks it is here (``require_admitted``).
    admitted_models: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.headers["x-request-id"] = self.request_id

    def elapsed_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    def upstream_so_far_ms(self, now: float) -> float:
        """The upstream's share: its whole answer once known, else the time since the call."""
        if self.upstream_ms:
            return self.upstream_ms
        return (now - self.upstream_started) * 1000 if self.upstream_started else 0.0

    def server_timing(self) -> str:
        """``Server-Timing``: Portico's own time and the upstream's (browsers show both)."""
        now = time.perf_counter()
        upstream = self.upstream_so_far_ms(now)
        gateway = max((now - self.started) * 1000 - upstream, 0.0)
        if not self.upstream_started:
            return f"gateway;dur={gateway:.2f}"
        return f"gateway;dur={gateway:.2f}, upstream;dur={upstream:.2f}"

    def overhead_us(self) -> int | None:
        """Portico's own time for a request that reached an upstream, in microseconds:
        before the upstream call, and after its answer for answers read whole."""
        if not self.upstream_started:
            return None
        before = (self.upstream_started - self.started) * 1_000_000
        after = (
            (time.perf_counter() - self.upstream_started) * 1_000_000 - self.upstream_ms * 1000
            if self.upstream_ms
            else 0.0
        )
        return max(int(before + after), 0)
