"""Prometheus counters of the limiter (the /metrics endpoint is another app's)."""

from __future__ import annotations

from prometheus_client import Counter

DECISIONS = Counter(
    "cadml_ratelimit_decisions_total",
    "Rate-limit decisions by scope (the deciding window's) and outcome "
    "(allowed, blocked, shadow_blocked).",
    ["scope", "outcome"],
)
FALLBACKS = Counter(
    "cadml_ratelimit_fallback_total",
    "Rate-limit decisions taken by the process-local fallback (Redis unavailable).",
)
REDIS_ERRORS = Counter(
    "cadml_ratelimit_redis_errors_total",
    "Redis calls of the limiter that failed or timed out.",
)
