"""Django's cache on a real Redis Cluster (cadml.lib.redis_cluster_cache): every
operation, keys spread over the three masters, and a master failover."""

from __future__ import annotations

import pytest

from cadml.lib.redis_cluster_cache import RedisClusterCache


@pytest.fixture
def cluster_cache(redis_cluster):  # type: ignore[no-untyped-def]
    cache = RedisClusterCache(
        [f"redis://127.0.0.1:{p}" for p in redis_cluster.ports[:3]],
        {"KEY_PREFIX": "cadml-test", "OPTIONS": {"socket_timeout": 2}},
    )
    cache.clear()
    return cache


def test_every_cache_operation_works_across_slots(cluster_cache, redis_cluster):  # type: ignore[no-untyped-def]
    values = {f"key-{i}": {"n": i} for i in range(50)}
    cluster_cache.set_many(values, timeout=60)
    masters = {redis_cluster.master_of(cluster_cache.make_key(k)) for k in values}
    assert len(masters) == 3  # the keys really are spread over every master
    assert cluster_cache.get_many(list(values)) == values
    assert cluster_cache.add("key-0", "other") is False
    assert cluster_cache.add("new", "value") is True
    assert cluster_cache.get("new") == "value"
    cluster_cache.set("counter", 1)
    assert cluster_cache.incr("counter", 5) == 6
    assert cluster_cache.has_key("counter")
    cluster_cache.delete_many(list(values))
    assert cluster_cache.get_many(list(values)) == {}
    assert cluster_cache.delete("new") is True
    cluster_cache.set("gone", 1)
    cluster_cache.clear()
    assert cluster_cache.get("gone") is None


def test_the_cache_keeps_working_after_a_master_failover(cluster_cache, redis_cluster):  # type: ignore[no-untyped-def]
    cluster_cache.set("survivor", "still here", timeout=60)
    redis_cluster.failover(cluster_cache.make_key("survivor"))
    # The client follows the new slot map (MOVED) without an error.
    assert cluster_cache.get("survivor") == "still here"
    cluster_cache.set("after", "written", timeout=60)
    assert cluster_cache.get("after") == "written"
