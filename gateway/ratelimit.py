"""Requests/min, tokens/min and requests/day, per key, per owner, per organization and
per project and model, in one atomic step.

Fixed windows: a counter per (subject, window start). ``admit`` checks every rule and
increments all of them only if none would overflow, so a refused request consumes
nothing. With Redis this is one Lua script (one round trip, atomic across web
processes); without it, the same arithmetic in this process.
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass

from django.conf import settings

from ground.redis import get_async_redis

MINUTE = 60
DAY = 86_400


@dataclass(frozen=True, slots=True)
class Rule:
    subject: str  # e.g. "key:12", "user:3", "org:5", "project:7:gpt-4o-mini"
    kind: str  # "rpm" | "tpm" | "rpd"
    limit: int
    window: int

    def amount(self, tokens: int) -> int:
        return tokens if self.kind == "tpm" else 1


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after: int = 0
    refused_by: Rule | None = None

    @property
    def message(self) -> str:
        rule = self.refused_by
        if rule is None:
            return ""
        what = {
            "rpm": "requests per minute",
            "tpm": "tokens per minute",
            "rpd": "requests per day",
        }[rule.kind]
        kind, _, rest = rule.subject.partition(":")
        whose = {
            "key": "this API key",
            "playground": "the playground",
            "portal": "the portal",
            "org": "your organization",
        }.get(kind, "your account")
        if kind == "project":
            whose = f"this project's use of '{rest.partition(':')[2]}'"
        return (
            f"Rate limit reached: {rule.limit} {what} for {whose}. Retry after {self.retry_after}s."
        )

    @property
    def code(self) -> str:
        rule = self.refused_by
        return {
            "rpm": "rate_limit_exceeded",
            "tpm": "tokens_per_minute_exceeded",
            "rpd": "daily_limit_exceeded",
        }.get(rule.kind if rule else "", "rate_limit_exceeded")


def rules_for(ctx, model: str = "") -> list[Rule]:
    """The rules that apply to a key context (and, once known, the model it calls: a
    project's per-model limits); the key's RPM always exists (for headers)."""
    key, user = ctx.subject, f"user:{ctx.owner_id}"
    rules = [Rule(key, "rpm", ctx.key_rpm or settings.DEFAULT_KEY_RPM, MINUTE)]
    if ctx.owner_rpm:
        rules.append(Rule(user, "rpm", ctx.owner_rpm, MINUTE))
    if ctx.key_tpm:
        rules.append(Rule(key, "tpm", ctx.key_tpm, MINUTE))
    if ctx.owner_tpm:
        rules.append(Rule(user, "tpm", ctx.owner_tpm, MINUTE))
    if ctx.key_rpd:
        rules.append(Rule(key, "rpd", ctx.key_rpd, DAY))
    if ctx.owner_rpd:
        rules.append(Rule(user, "rpd", ctx.owner_rpd, DAY))
    place = ctx.place
    if place is not None:
        rules += place_rules(place, model)
    return rules


def place_rules(place, model: str = "") -> list[Rule]:
    """The organization's limits, and the project's for ``model``."""
    rules = []
    org = f"org:{place.organization_id}"
    for kind, limit, window in (
        ("rpm", place.org_rpm, MINUTE),
        ("tpm", place.org_tpm, MINUTE),
        ("rpd", place.org_rpd, DAY),
    ):
        if limit:
            rules.append(Rule(org, kind, limit, window))
    if model:
        rules += model_rules(place, model)
    return rules


def model_rules(place, model: str) -> list[Rule]:
    """A project's limits for one model (``ProjectRateLimit``)."""
    limits = place.limits_for(model) if place is not None else None
    if limits is None:
        return []
    subject = f"project:{place.project_id}:{model}"
    return [
        Rule(subject, kind, limit, window)
        for kind, limit, window in (
            ("rpm", limits.rpm, MINUTE),
            ("tpm", limits.tpm, MINUTE),
            ("rpd", limits.rpd, DAY),
        )
        if limit
    ]


def counter_key(rule: Rule, now: float) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:rl:{rule.subject}:{rule.kind}:{int(now // rule.window)}"


def window_reset(rule: Rule, now: float) -> int:
    return int((now // rule.window + 1) * rule.window)


def build_decision(rules: list[Rule], counts: list[int], refused: int, now: float) -> Decision:
    """Headers come from the tightest requests-per-minute rule (and tokens, if limited)."""
    headers: dict[str, str] = {}
    rpm = [(r, c) for r, c in zip(rules, counts, strict=True) if r.kind == "rpm"]
    tpm = [(r, c) for r, c in zip(rules, counts, strict=True) if r.kind == "tpm"]
    if rpm:
        rule, count = min(rpm, key=lambda rc: rc[0].limit - rc[1])
        remaining = str(max(rule.limit - count, 0))
        reset = window_reset(rule, now)
        headers.update(
            {
                "x-ratelimit-limit": str(rule.limit),
                "x-ratelimit-remaining": remaining,
                "x-ratelimit-reset": str(reset),
                "x-ratelimit-limit-requests": str(rule.limit),
                "x-ratelimit-remaining-requests": remaining,
                "x-ratelimit-reset-requests": f"{max(reset - now, 0):.0f}s",
            }
        )
    if tpm:
        rule, count = min(tpm, key=lambda rc: rc[0].limit - rc[1])
        headers.update(
            {
                "x-ratelimit-limit-tokens": str(rule.limit),
                "x-ratelimit-remaining-tokens": str(max(rule.limit - count, 0)),
                "x-ratelimit-reset-tokens": f"{max(window_reset(rule, now) - now, 0):.0f}s",
            }
        )
    if refused < 0:
        return Decision(True, headers)
    rule = rules[refused]
    retry_after = max(1, math.ceil(window_reset(rule, now) - now))
    headers["retry-after"] = str(retry_after)
    return Decision(False, headers, retry_after, rule)


# Checks every counter first, then increments all of them; returns the counts after
# the step (or as they stand, when refused) and the index of the refusing rule (-1).
ADMIT_LUA = """
local n = #KEYS
local counts = {}
for i = 1, n do
  local limit = tonumber(ARGV[(i - 1) * 3 + 1])
  local amount = tonumber(ARGV[(i - 1) * 3 + 3])
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  counts[i] = current
  if current + amount > limit and amount > 0 then
    return {i - 1, unpack(counts)}
  end
end
for i = 1, n do
  local window = tonumber(ARGV[(i - 1) * 3 + 2])
  local amount = tonumber(ARGV[(i - 1) * 3 + 3])
  counts[i] = redis.call('INCRBY', KEYS[i], amount)
  if counts[i] == amount then redis.call('EXPIRE', KEYS[i], window + 5) end
end
return {-1, unpack(counts)}
"""


class RedisLimiter:
    def __init__(self) -> None:
        self.scripts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _script(self, client):
        script = self.scripts.get(client)
        if script is None:
            script = self.scripts[client] = client.register_script(ADMIT_LUA)
        return script

    async def admit(self, rules: list[Rule], tokens: int) -> Decision:
        now = time.time()
        keys = [counter_key(r, now) for r in rules]
        args: list[int] = []
        for rule in rules:
            args += [rule.limit, rule.window, rule.amount(tokens)]
        client = get_async_redis()
        result = await self._script(client)(keys=keys, args=args, client=client)
        refused, counts = int(result[0]), [int(c) for c in result[1:]]
        counts += [0] * (len(rules) - len(counts))
        return build_decision(rules, counts, refused, now)

    async def peek(self, rules: list[Rule]) -> Decision:
        """The headers as things stand, without counting anything (for early errors)."""
        now = time.time()
        values = await get_async_redis().mget([counter_key(r, now) for r in rules])
        return build_decision(rules, [int(v or 0) for v in values], -1, now)

    async def adjust(self, rules: list[Rule], delta_tokens: int, *, at: float) -> None:
        """Reconcile a token reservation with the real count (may go either way)."""
        token_rules = [rule for rule in rules if rule.kind == "tpm"]
        if not token_rules or not delta_tokens:
            return
        pipe = get_async_redis().pipeline(transaction=False)
        for rule in token_rules:
            pipe.incrby(counter_key(rule, at), delta_tokens)
        await pipe.execute()


class LocalLimiter:
    """The same arithmetic for one process (the embedded default)."""

    def __init__(self) -> None:
        self.counters: dict[str, tuple[float, int]] = {}

    def _get(self, key: str, now: float) -> int:
        entry = self.counters.get(key)
        return entry[1] if entry and entry[0] > now else 0

    async def admit(self, rules: list[Rule], tokens: int) -> Decision:
        now = time.time()
        keys = [counter_key(r, now) for r in rules]
        counts = [self._get(k, now) for k in keys]
        for index, (rule, count) in enumerate(zip(rules, counts, strict=True)):
            amount = rule.amount(tokens)
            if amount and count + amount > rule.limit:
                return build_decision(rules, counts, index, now)
        for index, (rule, key) in enumerate(zip(rules, keys, strict=True)):
            counts[index] += rule.amount(tokens)
            self.counters[key] = (window_reset(rule, now) + 5, counts[index])
        if len(self.counters) > 100_000:
            self.counters = {k: v for k, v in self.counters.items() if v[0] > now}
        return build_decision(rules, counts, -1, now)

    async def peek(self, rules: list[Rule]) -> Decision:
        now = time.time()
        return build_decision(rules, [self._get(counter_key(r, now), now) for r in rules], -1, now)

    async def adjust(self, rules: list[Rule], delta_tokens: int, *, at: float) -> None:
        for rule in rules:
            if rule.kind == "tpm" and delta_tokens:
                key = counter_key(rule, at)
                expires, count = self.counters.get(key, (window_reset(rule, at) + 5, 0))
                self.counters[key] = (expires, max(count + delta_tokens, 0))


_limiter = None


def get_limiter():
    global _limiter
    if _limiter is None:
        _limiter = RedisLimiter() if settings.REDIS_URL else LocalLimiter()
    return _limiter


def reset_limiter() -> None:
    global _limiter
    _limiter = None
