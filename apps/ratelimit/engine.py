"""The limiter engine: shared counters in Redis, a process-local fallback, and a
circuit breaker between them.

Redis (through the ``limits`` package's storage, so ``redis://``,
``redis+sentinel://`` and ``redis+cluster://`` URLs all work) holds the shared
sliding-window counters. Every window of one request is decided by one Lua script
call, i.e. one round trip. When Redis errors or is slower than the socket timeout
(50 ms by default), the breaker opens: requests are decided by a process-local
limiter whose limits are scaled by ``CADML_RATELIMIT_LOCAL_FRACTION`` (each process
gets its share), and Redis is retried after a back-off that doubles up to a
ceiling. The first successful call closes the breaker again.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from django.conf import settings

from apps.ratelimit.metrics import FALLBACKS, REDIS_ERRORS

logger = logging.getLogger("cadml.ratelimit")

KEY_PREFIX = "cadml-rl"
SCRIPT = (Path(__file__).parent / "acquire_all.lua").read_text()


@dataclass(frozen=True)
class Slot:
    """One window to acquire: its two counter keys, its limit and its length."""

    previous_key: str
    current_key: str
    limit: int
    seconds: int
    enforced: bool


@dataclass(frozen=True)
class Row:
    """A window's counters after the decision (times in milliseconds)."""

    limit: int
    seconds: int
    previous_count: int
    previous_ttl: int
    current_count: int
    current_ttl: int
    over: bool

    @property
    def used(self) -> int:
        return (
            math.floor(self.previous_count * self.previous_ttl / (self.seconds * 1000))
            + self.current_count
        )

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def reset_after(self) -> int:
        """Seconds until the current window ends and its count starts to decay."""
        expiry = self.seconds * 1000
        if self.current_count:
            return max(0, math.ceil((self.current_ttl - expiry) / 1000))
        if self.previous_count:
            return math.ceil(self.previous_ttl / 1000)
        return 0

    def wait_for(self, cost: int) -> int:
        """Seconds until ``cost`` fits in this window again (0 if it fits now)."""
        expiry = self.seconds * 1000
        if cost > self.limit:
            return self.seconds  # never fits; say "a window" rather than forever
        headroom = self.limit - cost - self.current_count
        if headroom >= 0:
            if self.previous_count == 0:
                return 0
            # floor(prev * (ttl - t) / E) <= headroom  <=>  t > ttl - (headroom+1)E/prev
            wait_ms = self.previous_ttl - (headroom + 1) * expiry / self.previous_count
            return max(0, math.ceil((wait_ms + 1) / 1000))
        # The current window alone is too full: wait for it to end, then for its
        # count (now the previous window's) to decay enough.
        until_roll = max(0, self.current_ttl - expiry)
        decay_ms = max(
            0, expiry - (self.limit - cost + 1) * expiry / max(self.current_count, 1)
        )
        return max(1, math.ceil((until_roll + decay_ms + 1) / 1000))


def _rows(raw: Sequence[Any], slots: Sequence[Slot]) -> tuple[bool, list[Row]]:
    allowed = bool(int(raw[0]))
    rows = []
    for i, slot in enumerate(slots):
        prev_count, prev_ttl, cur_count, cur_ttl, over = (
            int(v) for v in raw[1 + 5 * i : 6 + 5 * i]
        )
        rows.append(
            Row(
                limit=slot.limit,
                seconds=slot.seconds,
                previous_count=prev_count,
                previous_ttl=prev_ttl,
                current_count=cur_count,
                current_ttl=cur_ttl,
                over=bool(over),
            )
        )
    return allowed, rows


def _argv(slots: Sequence[Slot], cost: int) -> tuple[list[str], list[int]]:
    keys: list[str] = []
    argv: list[int] = [cost, len(slots)]
    for slot in slots:
        keys += [slot.previous_key, slot.current_key]
        argv += [slot.limit, slot.seconds, 1 if slot.enforced else 0]
    return keys, argv


class RedisEngine:
    """Shared counters: one EVALSHA per decision on one connection pool."""

    def __init__(self, url: str, *, socket_timeout_s: float) -> None:
        from limits.storage import (
            RedisClusterStorage,
            RedisStorage,
            storage_from_string,
        )
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        options: dict[str, Any] = {
            "socket_timeout": socket_timeout_s,
            "socket_connect_timeout": socket_timeout_s,
            # Fail fast: the breaker decides when to try again, not the client.
            "retry": Retry(NoBackoff(), 0),
            "key_prefix": KEY_PREFIX,
        }
        if "+sentinel" in url.split("://", 1)[0]:
            # The sentinels themselves answer within the same budget.
            options["sentinel_kwargs"] = {
                "socket_timeout": socket_timeout_s,
                "socket_connect_timeout": socket_timeout_s,
                "retry": Retry(NoBackoff(), 0),
            }
        # Redis family only (the settings check refuses other schemes); the key
        # helpers used below are RedisStorage's.
        self.storage = cast(RedisStorage, storage_from_string(url, **options))
        # Cluster: the windows of one request live in different hash slots, so
        # they cannot share one script call; each window gets its own call.
        self.one_call_per_window = isinstance(self.storage, RedisClusterStorage)
        self.script = self.storage.get_connection().register_script(SCRIPT.encode())
        self.round_trips = 0

    def key(self, name: str, *, tag: str = "") -> tuple[str, str]:
        """The window's two counter keys. On a cluster, ``tag`` (e.g. the tenant)
        leads the key as a hash tag, so every window carrying the same tag lands
        in one slot and is acquired in one script call; elsewhere it is ignored
        (the keys stay as they always were)."""
        storage = self.storage
        previous = storage._previous_window_key(name)
        current = storage._current_window_key(name)
        if tag and self.one_call_per_window:
            previous, current = f"{{{tag}}}:{previous}", f"{{{tag}}}:{current}"
        return storage.prefixed_key(previous), storage.prefixed_key(current)

    def acquire(self, slots: Sequence[Slot], cost: int) -> tuple[bool, list[Row]]:
        if not self.one_call_per_window:
            keys, argv = _argv(slots, cost)
            self.round_trips += 1
            return _rows(self.script(keys=keys, args=argv), slots)
        # Cluster: one all-or-nothing call per hash slot. Windows in different
        # slots are decided one after the other, so a later slot's refusal does
        # not give back what an earlier slot took.
        from redis.crc import key_slot

        groups: dict[int, list[int]] = {}
        for i, slot in enumerate(slots):
            groups.setdefault(key_slot(slot.current_key.encode()), []).append(i)
        allowed = True
        rows: list[Row | None] = [None] * len(slots)
        for indexes in groups.values():
            group = [slots[i] for i in indexes]
            keys, argv = _argv(group, cost)
            self.round_trips += 1
            ok, group_rows = _rows(self.script(keys=keys, args=argv), group)
            allowed = allowed and ok
            for i, row in zip(indexes, group_rows, strict=True):
                rows[i] = row
        return allowed, [row for row in rows if row is not None]

    def ping(self) -> bool:
        return bool(self.storage.get_connection().ping())


class LocalEngine:
    """The same algorithm on an in-process, LRU-bounded key/value store.

    At most ``max_keys`` counters are kept; the least recently used go first, so a
    flood of distinct identities cannot grow memory (it only forgets the quietest
    counters, which errs on the side of letting a request through).
    """

    def __init__(self, *, max_keys: int, fraction: float) -> None:
        self.max_keys = max_keys
        self.fraction = fraction
        self._data: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    @staticmethod
    def key(name: str) -> tuple[str, str]:
        return f"{{{name}}}/-1", f"{{{name}}}"

    def scaled(self, limit: int) -> int:
        return max(1, math.floor(limit * self.fraction))

    # Redis-like primitives on the store; callers hold the lock.
    def _get(self, key: str, now: float) -> tuple[int, int]:
        entry = self._data.get(key)
        if entry is None:
            return 0, 0
        value, expires = entry
        if expires <= now:
            del self._data[key]
            return 0, 0
        self._data.move_to_end(key)
        return value, int(expires - now)

    def _set(self, key: str, value: int, expires: float) -> None:
        self._data[key] = (value, expires)
        self._data.move_to_end(key)
        while len(self._data) > self.max_keys:
            self._data.popitem(last=False)

    def acquire(self, slots: Sequence[Slot], cost: int) -> tuple[bool, list[Row]]:
        now = time.monotonic() * 1000
        with self._lock:
            states: list[tuple[int, int, int, int, int, bool]] = []
            allowed = True
            for slot in slots:
                limit = self.scaled(slot.limit)
                expiry = slot.seconds * 1000
                cur, cur_ttl = self._get(slot.current_key, now)
                if 0 < cur_ttl < expiry:
                    self._set(slot.previous_key, cur, now + cur_ttl)
                    self._set(slot.current_key, 0, now + cur_ttl + expiry)
                    cur, cur_ttl = 0, cur_ttl + expiry
                prev, prev_ttl = self._get(slot.previous_key, now)
                weighted = math.floor(prev * prev_ttl / expiry) + cur
                over = weighted + cost > limit
                if over and slot.enforced:
                    allowed = False
                states.append((limit, prev, prev_ttl, cur, cur_ttl, over))
            rows = []
            for slot, (limit, prev, prev_ttl, cur, cur_ttl, over) in zip(
                slots, states, strict=True
            ):
                if allowed:
                    if cur_ttl <= 0:
                        cur_ttl = slot.seconds * 2000
                    cur += cost
                    self._set(slot.current_key, cur, now + cur_ttl)
                rows.append(
                    Row(
                        limit=limit,
                        seconds=slot.seconds,
                        previous_count=prev,
                        previous_ttl=prev_ttl,
                        current_count=cur,
                        current_ttl=cur_ttl,
                        over=over,
                    )
                )
            return allowed, rows


class Breaker:
    """Closed: use Redis. Open: use the local engine until ``retry_at``; then one
    caller tries Redis again (the others stay local), doubling the back-off on
    failure up to ``max_backoff``."""

    def __init__(self, *, backoff: float, max_backoff: float) -> None:
        self.base = backoff
        self.max_backoff = max_backoff
        self.backoff = backoff
        self.open = False
        self.retry_at = 0.0
        self.last_warning = -math.inf
        self._lock = threading.Lock()

    def should_try(self) -> bool:
        if not self.open:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self.retry_at:
                return False
            self.retry_at = now + self.backoff  # one trial at a time
            return True

    def failed(self, exc: BaseException) -> None:
        REDIS_ERRORS.inc()
        with self._lock:
            now = time.monotonic()
            if self.open:
                self.backoff = min(self.backoff * 2, self.max_backoff)
            self.open = True
            self.retry_at = now + self.backoff
            if now - self.last_warning >= 60:
                self.last_warning = now
                logger.warning(
                    "rate limiter: Redis unavailable (%s: %s); using process-local "
                    "limits, retrying in %.1fs",
                    type(exc).__name__,
                    exc,
                    self.backoff,
                )

    def succeeded(self) -> None:
        if not self.open:
            return
        with self._lock:
            if self.open:
                self.open = False
                self.backoff = self.base
                logger.warning("rate limiter: Redis is back; shared limits resumed")


class Limiter:
    """Routes each decision to Redis or, when it is unavailable, the local engine."""

    def __init__(self) -> None:
        url = settings.CADML_RATELIMIT_STORAGE_URL or settings.REDIS_URL
        fraction = float(settings.CADML_RATELIMIT_LOCAL_FRACTION)
        self.redis: RedisEngine | None = None
        if url:
            timeout_ms = settings.CADML_RATELIMIT_SOCKET_TIMEOUT_MS
            self.redis = RedisEngine(url, socket_timeout_s=timeout_ms / 1000)
        else:
            fraction = 1.0  # embedded mode: this process is the only one
        self.local = LocalEngine(
            max_keys=int(settings.CADML_RATELIMIT_LOCAL_MAX_KEYS),
            fraction=fraction,
        )
        self.breaker = Breaker(
            backoff=float(settings.CADML_RATELIMIT_BREAKER_BACKOFF_S),
            max_backoff=float(settings.CADML_RATELIMIT_BREAKER_MAX_BACKOFF_S),
        )

    def key(self, name: str, *, tag: str = "") -> tuple[str, str]:
        return self.redis.key(name, tag=tag) if self.redis else LocalEngine.key(name)

    def acquire(self, slots: Sequence[Slot], cost: int) -> tuple[bool, list[Row], bool]:
        """Returns (allowed, rows, decided_locally)."""
        if self.redis is not None and self.breaker.should_try():
            from redis.exceptions import RedisError

            try:
                allowed, rows = self.redis.acquire(slots, cost)
            except RedisError as exc:
                self.breaker.failed(exc)
            else:
                self.breaker.succeeded()
                return allowed, rows, False
        if self.redis is not None:
            FALLBACKS.inc()
        allowed, rows = self.local.acquire(slots, cost)
        return allowed, rows, self.redis is not None


_limiter: Limiter | None = None
_limiter_lock = threading.Lock()


def get_limiter() -> Limiter:
    global _limiter
    limiter = _limiter
    if limiter is None:
        with _limiter_lock:
            if _limiter is None:
                _limiter = Limiter()
            limiter = _limiter
    return limiter


ENGINE_SETTINGS = frozenset(
    {
        "REDIS_URL",
        "CADML_RATELIMIT_STORAGE_URL",
        "CADML_RATELIMIT_SOCKET_TIMEOUT_MS",
        "CADML_RATELIMIT_LOCAL_FRACTION",
        "CADML_RATELIMIT_LOCAL_MAX_KEYS",
        "CADML_RATELIMIT_BREAKER_BACKOFF_S",
        "CADML_RATELIMIT_BREAKER_MAX_BACKOFF_S",
    }
)


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    global _limiter
    if setting in ENGINE_SETTINGS:
        _limiter = None
