"""Django's Redis cache with one ``redis.Redis`` client per connection pool.

Django's ``RedisCacheClient`` builds a new client object for every cache call.
The connection pool is shared either way, but building the client (its
response callbacks) costs about as much as a round trip to a local Redis, and
the hot paths make several cache calls per request or batch item. A client is
safe to share between threads, and its pool reconnects after a fork, so one
client per pool serves every call.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoClient


class RedisCacheClient(DjangoClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
