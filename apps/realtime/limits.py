"""Concurrent WebSocket connections per user (or API key) and per tenant.

With a shared Redis the slots are members of a sorted set per user and per
tenant, scored by when they lapse; a live connection refreshes its slots every third of
``CADML_WS_SLOT_TTL_S``, so the slots of a crashed process lapse on their own
within that time. Without Redis: the same bookkeeping in this process.

On a Redis Cluster every set carries one hash tag, so a connection's user and
tenant sets share a slot and one script still takes all of its slots or none.
These sets see a few calls per connection a minute, so one slot serves them.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from django.conf import settings

from apps.realtime.history import KEY_PREFIX
from apps.realtime.principal import Principal
from cadml.lib.redis_client import async_client, is_cluster, shared_redis

# KEYS: the sets; ARGV: member, ttl seconds, then one limit per key.
# Returns 0 when all slots were taken, else the 1-based index of the full key.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZSCORE', key, ARGV[1]) == false
     and redis.call('ZCARD', key) >= tonumber(ARGV[i + 2]) then
    return i
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[1])
  redis.call('EXPIRE', key, math.ceil(ttl) + 1)
end
return 0
"""

_REFRESH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl = tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + ttl, ARGV[1])
  redis.call('EXPIRE', key, math.ceil(ttl) + 1)
end
return 0
"""


def slot_ttl() -> float:
    return float(settings.CADML_WS_SLOT_TTL_S)


def plan_limits(plan: str) -> dict[str, int]:
    table = settings.CADML_WS_LIMITS
    return table.get(plan) or table["free"]


@dataclass(frozen=True)
class Slot:
    key: str
    limit: int
    what: str  # for the close reason


def slots_for(principal: Principal) -> list[Slot]:
    """One slot per tenant the principal acts for, plus one for the principal.
    The per-user limit is that of the most generous plan among its tenants
    (staff without a tenant count as internal)."""
    slots = []
    per_user = 0
    for grant in principal.tenants:
        limits = plan_limits(grant.plan)
        per_user = max(per_user, limits["per_user"])
        slots.append(
            Slot(
                f"{KEY_PREFIX}:conn:tenant:{grant.tenant_id}",
                limits["per_tenant"],
                f"tenant {grant.slug}",
            )
        )
    if not principal.tenants:
        per_user = plan_limits("internal" if principal.is_staff else "free")["per_user"]
    what = "API key" if principal.api_key_id is not None else "user"
    slots.insert(0, Slot(f"{KEY_PREFIX}:conn:{principal.identity_key}", per_user, what))
    return slots


class RedisLimiter:
    def __init__(self, url: str) -> None:
        self.url = url
        self.cluster = is_cluster(url)
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, aioredis.Redis | aioredis.RedisCluster
        ] = weakref.WeakKeyDictionary()

    def _client(self) -> aioredis.Redis | aioredis.RedisCluster:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = async_client(self.url)
            self._clients[loop] = client
        return client

    def _keys(self, slots: list[Slot]) -> list[str]:
        if not self.cluster:
            return [s.key for s in slots]
        # cadml:rt:conn:... -> cadml:rt:{conn}:... (one slot for all of them)
        prefix = f"{KEY_PREFIX}:conn:"
        return [f"{KEY_PREFIX}:{{conn}}:{s.key.removeprefix(prefix)}" for s in slots]

    async def acquire(self, slots: list[Slot], member: str) -> Slot | None:
        """Take a slot in every set, or none; returns the full one on refusal."""
        full = await cast(
            "Awaitable[Any]",
            self._client().eval(
                _ACQUIRE,
                len(slots),
                *self._keys(slots),
                member,
                slot_ttl(),
                *[s.limit for s in slots],
            ),
        )
        return slots[int(full) - 1] if int(full) else None

    async def refresh(self, slots: list[Slot], member: str) -> None:
        await cast(
            "Awaitable[Any]",
            self._client().eval(
                _REFRESH, len(slots), *self._keys(slots), member, slot_ttl()
            ),
        )

    async def release(self, slots: list[Slot], member: str) -> None:
        client = self._client()
        async with client.pipeline(transaction=False) as pipe:
            for key in self._keys(slots):
                pipe.zrem(key, member)
            await pipe.execute()


class MemoryLimiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: dict[str, dict[str, float]] = {}

    async def acquire(self, slots: list[Slot], member: str) -> Slot | None:
        now = time.monotonic()
        with self._lock:
            for slot in slots:
                members = self._sets.setdefault(slot.key, {})
                for other, lapses in list(members.items()):
                    if lapses <= now:
                        del members[other]
                if member not in members and len(members) >= slot.limit:
                    return slot
            for slot in slots:
                self._sets[slot.key][member] = now + slot_ttl()
        return None

    async def refresh(self, slots: list[Slot], member: str) -> None:
        lapses = time.monotonic() + slot_ttl()
        with self._lock:
            for slot in slots:
                members = self._sets.get(slot.key, {})
                if member in members:
                    members[member] = lapses

    async def release(self, slots: list[Slot], member: str) -> None:
        with self._lock:
            for slot in slots:
                self._sets.get(slot.key, {}).pop(member, None)

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()


_limiters: dict[str, RedisLimiter | MemoryLimiter] = {}
_limiters_lock = threading.Lock()


def get_limiter() -> RedisLimiter | MemoryLimiter:
    url = shared_redis()
    with _limiters_lock:
        limiter = _limiters.get(url)
        if limiter is None:
            limiter = RedisLimiter(url) if url else MemoryLimiter()
            _limiters[url] = limiter
        return limiter
