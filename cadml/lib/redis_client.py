"""The shared Redis that plain clients talk to: a Redis Cluster when
``CADML_REDIS_CLUSTER_URL`` is set (``redis+cluster://host:port,host:port``),
else ``REDIS_URL``, else none (docs/redis-cluster.md).

Callers key their per-process clients by ``shared_redis()`` so that tests that
override the settings get matching clients.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings


def cluster_hosts(url: str) -> list[tuple[str, int]]:
    """``redis+cluster://a:7000,b:7000`` -> [("a", 7000), ("b", 7000)]."""
    hosts = []
    for node in url.split("://", 1)[-1].split("/", 1)[0].split(","):
        host, _, port = node.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(
                f"CADML_REDIS_CLUSTER_URL: {node!r} is not host:port "
                "(expected redis+cluster://host:port,host:port)"
            )
        hosts.append((host, int(port)))
    return hosts


def shared_redis() -> str:
    """The cluster URL, the standalone URL, or "" (no shared Redis)."""
    return settings.CADML_REDIS_CLUSTER_URL or settings.REDIS_URL or ""


def is_cluster(url: str) -> bool:
    return url.startswith("redis+cluster://")


# Mid-failover a node can briefly report a master's slots as uncovered; a
# client that insists on full coverage then fails every command while it
# refreshes its slot map, even those for the masters that are fine.
CLUSTER_OPTIONS: dict[str, Any] = {"require_full_coverage": False}


def sync_client(url: str, **options: Any) -> redis.Redis | redis.RedisCluster:
    if is_cluster(url):
        nodes = [redis.cluster.ClusterNode(h, p) for h, p in cluster_hosts(url)]
        return redis.RedisCluster(startup_nodes=nodes, **{**CLUSTER_OPTIONS, **options})
    return redis.Redis.from_url(url, **options)


def async_client(url: str, **options: Any) -> aioredis.Redis | aioredis.RedisCluster:
    """A client for the running event loop (redis.asyncio clients belong to
    one loop)."""
    if is_cluster(url):
        nodes = [aioredis.cluster.ClusterNode(h, p) for h, p in cluster_hosts(url)]
        return aioredis.RedisCluster(
            startup_nodes=nodes, **{**CLUSTER_OPTIONS, **options}
        )
    return aioredis.Redis.from_url(url, **options)
