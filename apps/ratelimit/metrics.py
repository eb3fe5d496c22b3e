"""Prometheus counters of the limiter (the /metrics endpoint is another app's)."""

from __future__ import annotations

from prometheus_client import Counter

DECISIONS = Counter(
    "cadml_ratelimit_decisions_total",
    "Rate-limit decisions by scope (the deciding window's) and outcome "
    "(allowed, blocked, shadow_blocked).",
    ["scope", "outcome"],
)
