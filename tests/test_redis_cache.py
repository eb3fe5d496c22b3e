"""The platform's Redis cache (cadml.lib.redis_cache): one client per pool,
shared by threads and still working in a process forked after it was used (a
Celery prefork worker, the isolation pool)."""

from __future__ import annotations

import multiprocessing
import threading
import uuid

from cadml.lib.redis_cache import RedisCache


def _cache(url: str) -> RedisCache:
    return RedisCache(url, {"KEY_PREFIX": f"t-{uuid.uuid4().hex[:8]}"})


def _child(cache: RedisCache, out: multiprocessing.Queue) -> None:
    # The parent's cache object, client and pool, as inherited by the fork.
    out.put(cache.get("from-parent"))
    cache.set("from-child", "hello parent", 60)


def test_the_cache_works_across_threads_and_after_a_fork(redis_url: str) -> None:
    cache = _cache(redis_url)
    cache.set("from-parent", {"n": 1}, 60)
    assert cache.get("from-parent") == {"n": 1}

    errors: list[BaseException] = []

    def hammer(n: int) -> None:
        try:
            for i in range(200):
                cache.set(f"t{n}:{i}", i, 60)
                assert cache.get(f"t{n}:{i}") == i
            assert cache.incr(f"t{n}:0", 5) == 5
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    # The forked child inherits the parent's client and its pool's sockets;
    # it must open its own connections, not share the parent's.
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    child = ctx.Process(target=_child, args=(cache, out))
    child.start()
    got = out.get(timeout=30)
    child.join(timeout=30)
    assert child.exitcode == 0
    assert got == {"n": 1}
    assert cache.get("from-child") == "hello parent"
    assert cache.get("from-parent") == {"n": 1}  # the parent's client still works
