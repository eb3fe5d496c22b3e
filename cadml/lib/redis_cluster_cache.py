"""Django's Redis cache on a Redis Cluster.

``django.core.cache.backends.redis.RedisCache`` talks to one server through a
connection pool; here one ``redis.RedisCluster`` client (which follows the slot
map and its changes after a failover) serves every call, and the multi-key
operations that would span slots are split by slot. ``LOCATION`` is a list of
``redis://host:port`` start-up nodes (or one comma-separated string).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from cadml.lib.redis_client import CLUSTER_OPTIONS


class RedisClusterCacheClient(RedisCacheClient):
    _serializer: Any  # set by RedisCacheClient.__init__; the stubs omit it

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._servers = servers
        self._options = {
            k: v
            for k, v in options.items()
            if k not in ("pool_class", "parser_class", "serializer")
        }
        self._cluster: redis.RedisCluster | None = None
        self._lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        if self._cluster is None:
            with self._lock:
                if self._cluster is None:
                    nodes = []
                    for server in self._servers:
                        hostport = server.split("://", 1)[-1].split("/", 1)[0]
                        host, _, port = hostport.rpartition(":")
                        nodes.append(redis.cluster.ClusterNode(host, int(port)))
                    self._cluster = redis.RedisCluster(
                        startup_nodes=nodes, **{**CLUSTER_OPTIONS, **self._options}
                    )
        return self._cluster

    def get_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        keys = list(keys)
        client = self.get_client(None)
        values = client.mget_nonatomic(keys)
        return {
            k: self._serializer.loads(v)
            for k, v in zip(keys, values, strict=True)
            if v is not None
        }

    # Django passes None for "no expiry", which the stubs' signature leaves out.
    def set_many(  # type: ignore[override]
        self, data: Mapping[Any, Any], timeout: int | None
    ) -> None:
        client = self.get_client(None, write=True)
        pipeline = client.pipeline()
        for key, value in data.items():
            dumped = self._serializer.dumps(value)
            if timeout is None:
                pipeline.set(key, dumped)
            elif timeout <= 0:
                pipeline.delete(key)
            else:
                pipeline.set(key, dumped, ex=timeout)
        pipeline.execute()

    def clear(self) -> bool:
        client = self.get_client(None, write=True)
        return bool(client.flushdb(target_nodes=redis.RedisCluster.PRIMARIES))


class RedisClusterCache(RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisClusterCacheClient
