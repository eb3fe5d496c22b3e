"""Live per-variant figures and the guardrail window.

With a shared Redis (``CADML_REDIS_CLUSTER_URL``, else ``REDIS_URL``) the
figures live there, so every web, worker and gRPC process adds to the same
counters; without it they are process-local (embedded mode runs one process).
Keys carry the version id, so a new version starts at 0. On a cluster a
variant's keys share one hash tag, so its pipeline goes to one master.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from cadml.lib.redis_client import is_cluster, shared_redis, sync_client

LATENCY_SAMPLE = 1000
_PREFIX = "cadml:modelreg:stats"


def _key(deployment_salt: str, version_id: int, variant: str) -> str:
    # The deployment's random salt, not its id: ids restart with a new database,
    # Redis keys do not.
    name = f"{deployment_salt}:{version_id}:{variant}"
    if is_cluster(shared_redis()):
        name = "{" + name + "}"
    return f"{_PREFIX}:{name}"


@dataclass
class _Local:
    counters: dict[str, float] = field(default_factory=dict)
    latencies: deque[float] = field(
        default_factory=lambda: deque(maxlen=LATENCY_SAMPLE)
    )
    outcomes: deque[int] = field(default_factory=lambda: deque(maxlen=10_000))


_local: dict[str, _Local] = {}
_local_lock = threading.Lock()
_clients: dict[str, Any] = {}


def _redis() -> Any:
    url = shared_redis()
    client = _clients.get(url)
    if client is None:
        client = _clients.setdefault(
            url, sync_client(url, socket_timeout=1, socket_connect_timeout=1)
        )
    return client


def record(
    *,
    deployment_salt: str,
    version_id: int,
    variant: str,
    ok: bool,
    latency_ms: float,
    confidence: float | None,
    agreed: bool | None = None,
    window: int = 50,
) -> float | None:
    """Add one prediction; returns the error rate over the last ``window``
    predictions once that many were made (else None)."""
    key = _key(deployment_salt, version_id, variant)
    incr: dict[str, float] = {"predictions": 1, "errors": 0 if ok else 1}
    if confidence is not None:
        incr["confidence_sum"] = confidence
        incr["confidence_n"] = 1
    if agreed is not None:
        incr["compared"] = 1
        incr["agreed"] = 1 if agreed else 0
    window = max(window, 1)
    if shared_redis():
        try:
            pipe = _redis().pipeline(transaction=False)
            for name, value in incr.items():
                pipe.hincrbyfloat(key, name, value)
            pipe.lpush(key + ":lat", round(latency_ms, 3))
            pipe.ltrim(key + ":lat", 0, LATENCY_SAMPLE - 1)
            pipe.lpush(key + ":out", 0 if ok else 1)
            pipe.ltrim(key + ":out", 0, window - 1)
            if not ok:
                pipe.lrange(key + ":out", 0, window - 1)
            results = pipe.execute()
        except Exception:  # noqa: BLE001 - figures must never fail a prediction
            return None
        if ok:
            return None
        outcomes = [int(x) for x in results[-1]]
    else:
        with _local_lock:
            local = _local.setdefault(key, _Local())
            for name, value in incr.items():
                local.counters[name] = local.counters.get(name, 0) + value
            local.latencies.append(latency_ms)
            local.outcomes.append(0 if ok else 1)
            if ok:
                return None
            outcomes = list(local.outcomes)[-window:]
    if len(outcomes) < window:
        return None
    return sum(outcomes) / len(outcomes)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[idx], 3)


def figures(*, deployment_salt: str, version_id: int, variant: str) -> dict[str, Any]:
    key = _key(deployment_salt, version_id, variant)
    if shared_redis():
        try:
            client = _redis()
            raw = client.hgetall(key)
            counters = {k.decode(): float(v) for k, v in raw.items()}
            latencies = [float(x) for x in client.lrange(key + ":lat", 0, -1)]
        except Exception:  # noqa: BLE001
            counters, latencies = {}, []
    else:
        with _local_lock:
            local = _local.get(key, _Local())
            counters = dict(local.counters)
            latencies = list(local.latencies)
    n = int(counters.get("predictions", 0))
    conf_n = counters.get("confidence_n", 0)
    compared = counters.get("compared", 0)
    return {
        "predictions": n,
        "errors": int(counters.get("errors", 0)),
        "error_rate": round(counters.get("errors", 0) / n, 4) if n else None,
        "latency_ms_p50": _percentile(latencies, 0.5),
        "latency_ms_p95": _percentile(latencies, 0.95),
        "mean_confidence": round(counters.get("confidence_sum", 0) / conf_n, 4)
        if conf_n
        else None,
        "compared": int(compared),
        "agreement": round(counters.get("agreed", 0) / compared, 4)
        if compared
        else None,
    }
