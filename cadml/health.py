"""Liveness and readiness probes: no auth, no rate limit, no audit.

Readiness asks each configured dependency with a short timeout; extra checks (the
active model, ...) are dotted paths in ``CADML_READINESS_CHECKS``, each a callable
returning ``(ok, detail)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache

Check = Callable[[], tuple[bool, str]]


def check_database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True, connection.vendor


def check_cache() -> tuple[bool, str]:
    probe = f"readyz:{time.monotonic_ns()}"
    cache.set(probe, "1", 5)
    ok = cache.get(probe) == "1"
    cache.delete(probe)
    if settings.CADML_REDIS_CLUSTER_URL:
        return ok, "redis cluster"
    return ok, "redis" if settings.REDIS_URL else "local memory"


def check_redis() -> tuple[bool, str]:
    import redis

    from cadml.lib.redis_client import shared_redis, sync_client

    url = shared_redis()
    client = sync_client(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        # sync_client returns a RedisCluster exactly for a cluster URL.
        if isinstance(client, redis.RedisCluster):
            # Every master must answer: each serves a share of the keys.
            client.ping(target_nodes=client.PRIMARIES)
            return True, "cluster ping ok"
        client.ping()
    finally:
        client.close()
    return True, "ping ok"


def check_broker() -> tuple[bool, str]:
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=1) as conn:
        conn.ensure_connection(max_retries=1, timeout=1)
    return True, "reachable"


def configured_checks() -> dict[str, Check]:
    checks: dict[str, Check] = {"database": check_database, "cache": check_cache}
    if settings.REDIS_URL or settings.CADML_REDIS_CLUSTER_URL:
        checks["redis"] = check_redis
    if settings.CELERY_BROKER_URL:
        checks["broker"] = check_broker
    for name, dotted in settings.CADML_READINESS_CHECKS.items():
        checks[name] = import_string(dotted)
    return checks


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results = {}
    ready = True
    for name, check in configured_checks().items():
        try:
            ok, detail = check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            ok, detail = False, f"{type(exc).__name__}: {exc}"[:200]
        results[name] = {"ok": ok, "detail": detail}
        ready = ready and ok
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
    )
