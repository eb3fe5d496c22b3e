"""Per-channel event ids and bounded history, for replay after a reconnect.

With a shared Redis (``REDIS_URL``, or a Redis Cluster when
``CADML_REDIS_CLUSTER_URL`` is set): a counter and a stream per channel, whose
keys carry the channel as a hash tag (on a cluster they share a slot). One Lua
script takes the next id and appends the event (stream id ``<id>-0``),
trimming the stream to exactly ``CADML_WS_HISTORY`` entries (one append trims
one entry, so exact costs no more than approximate here); both keys expire 24 h
after the last event. Every process sees the same ids and the same history.
Without Redis: a counter and a deque per channel in this process (embedded mode
has one process).

The event is appended *before* it is sent to the channel group; a subscriber joins
the group *before* reading history. So every event is in the history, in the
subscriber's queue, or both, and the consumer drops duplicates by id.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import ClusterDownError, SlotNotCoveredError, TryAgainError

from cadml.lib.redis_client import async_client, shared_redis, sync_client

KEY_PREFIX = "cadml:rt"
HISTORY_TTL_S = 24 * 3600
# Mid-failover a cluster refuses the script for a moment (its slot has no
# master yet); a refused script did not run, so appending is asked again for
# this long instead of losing the event.
_REFUSED = (ClusterDownError, SlotNotCoveredError, TryAgainError)
REFUSED_RETRY_S = 5.0
_REFUSED_PAUSE_S = 0.1

_APPEND = """
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], id .. '-0', 'e', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return id
"""


def history_size() -> int:
    return int(settings.CADML_WS_HISTORY)


def _seq_key(channel: str) -> str:
    return f"{KEY_PREFIX}:seq:{{{channel}}}"


def _stream_key(channel: str) -> str:
    # The hash tag keeps both keys of a channel on one Redis Cluster slot.
    return f"{KEY_PREFIX}:hist:{{{channel}}}"


@dataclass(frozen=True)
class Replay:
    """What a subscriber missed after ``after``: the events in order, ``last_id``
    (the newest id of the channel when read), and whether history still covers
    the gap (``complete``); when it does not, the client must refetch state."""

    events: list[dict[str, Any]]
    last_id: int
    complete: bool


def _encode(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), default=str)


def _replay(
    after: int | None, last_id: int, entries: list[tuple[int, dict[str, Any]]]
) -> Replay:
    if after is None:
        return Replay(events=[], last_id=last_id, complete=True)
    if after > last_id:
        # The client saw ids this channel no longer has (history expired and ids
        # restarted): its position means nothing now.
        return Replay(events=[], last_id=last_id, complete=False)
    events = [event for event_id, event in entries if event_id > after]
    expected = last_id - after
    complete = len(events) == expected and (not events or events[0]["id"] == after + 1)
    return Replay(events=events, last_id=last_id, complete=complete)


class RedisHistory:
    def __init__(self, url: str) -> None:
        self.url = url
        self._sync = sync_client(url)
        # redis-py annotates register_script's self as Redis, though
        # RedisCluster inherits the same method and supports it.
        self._append_sync = self._sync.register_script(_APPEND)  # type: ignore[misc]
        # redis.asyncio connections belong to one event loop.
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, aioredis.Redis | aioredis.RedisCluster
        ] = weakref.WeakKeyDictionary()

    def _aclient(self) -> aioredis.Redis | aioredis.RedisCluster:
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            client = async_client(self.url)
            self._async[loop] = client
        return client

    def _args(self, body: dict[str, Any]) -> list[Any]:
        return [history_size(), _encode(body), HISTORY_TTL_S]

    def append(self, channel: str, body: dict[str, Any]) -> int:
        keys = [_seq_key(channel), _stream_key(channel)]
        deadline = time.monotonic() + REFUSED_RETRY_S
        while True:
            try:
                return int(self._append_sync(keys=keys, args=self._args(body)))
            except _REFUSED:
                if time.monotonic() > deadline:
                    raise
                time.sleep(_REFUSED_PAUSE_S)

    async def aappend(self, channel: str, body: dict[str, Any]) -> int:
        client = self._aclient()
        keys = [_seq_key(channel), _stream_key(channel)]
        deadline = time.monotonic() + REFUSED_RETRY_S
        while True:
            try:
                appended = client.eval(_APPEND, 2, *keys, *self._args(body))
                return int(await cast("Awaitable[Any]", appended))
            except _REFUSED:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(_REFUSED_PAUSE_S)

    async def alast_ids(self, channels: list[str]) -> list[int]:
        client = self._aclient()
        async with client.pipeline(transaction=False) as pipe:
            for channel in channels:
                pipe.get(_seq_key(channel))
            return [int(value or 0) for value in await pipe.execute()]

    async def aread(self, channel: str, after: int | None) -> Replay:
        """Events of ``channel`` with id > ``after`` (none when ``after`` is
        None), and the channel's newest id."""
        client = self._aclient()
        async with client.pipeline(transaction=True) as pipe:
            pipe.get(_seq_key(channel))
            if after is not None:
                pipe.xrange(_stream_key(channel), min=f"{max(after, 0) + 1}-0")
            results = await pipe.execute()
        last_id = int(results[0] or 0)
        entries = []
        if after is not None:
            for stream_id, fields in results[1]:
                event_id = int(stream_id.split(b"-")[0])
                body = json.loads(fields[b"e"])
                entries.append((event_id, _event(channel, event_id, body)))
        return _replay(after, last_id, entries)


def _event(channel: str, event_id: int, body: dict[str, Any]) -> dict[str, Any]:
    event = {"id": event_id, "channel": channel}
    event.update(body)
    return event


class MemoryHistory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}
        self._events: dict[str, deque[tuple[int, dict[str, Any]]]] = {}

    def append(self, channel: str, body: dict[str, Any]) -> int:
        with self._lock:
            event_id = self._seq.get(channel, 0) + 1
            self._seq[channel] = event_id
            events = self._events.get(channel)
            if events is None or events.maxlen != history_size():
                events = deque(events or (), maxlen=history_size())
                self._events[channel] = events
            events.append((event_id, _event(channel, event_id, body)))
            return event_id

    async def aappend(self, channel: str, body: dict[str, Any]) -> int:
        return self.append(channel, body)

    async def aread(self, channel: str, after: int | None) -> Replay:
        with self._lock:
            last_id = self._seq.get(channel, 0)
            entries = list(self._events.get(channel, ()))
        return _replay(after, last_id, entries)

    async def alast_ids(self, channels: list[str]) -> list[int]:
        with self._lock:
            return [self._seq.get(channel, 0) for channel in channels]

    def clear(self) -> None:
        with self._lock:
            self._seq.clear()
            self._events.clear()


_backends: dict[str, RedisHistory | MemoryHistory] = {}
_backends_lock = threading.Lock()


def get_history() -> RedisHistory | MemoryHistory:
    """The store for the configured shared Redis (read when used, so tests that
    override settings get the matching store)."""
    url = shared_redis()
    with _backends_lock:
        backend = _backends.get(url)
        if backend is None:
            backend = RedisHistory(url) if url else MemoryHistory()
            _backends[url] = backend
        return backend
