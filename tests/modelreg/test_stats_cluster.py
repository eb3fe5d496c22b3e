"""A model's live figures on a Redis Cluster with no standalone Redis: every
process adds to the same counters, read back from the cluster."""

from __future__ import annotations

import uuid

import pytest
import redis

from apps.modelreg import stats
from tests.realtime.test_cluster import cluster_settings

pytestmark = pytest.mark.integration


def test_figures_and_the_guardrail_window_live_on_the_cluster(settings, redis_cluster):  # type: ignore[no-untyped-def]
    cluster_settings(settings, redis_cluster.url)
    salt = uuid.uuid4().hex
    rates = [
        stats.record(
            deployment_salt=salt,
            version_id=7,
            variant="candidate",
            ok=n % 4 != 0,
            latency_ms=10.0 + n,
            confidence=0.5,
            window=8,
        )
        for n in range(1, 17)
    ]
    # Failures report the error rate over the last 8 predictions once 8 were made.
    assert rates[3] is None and rates[15] == pytest.approx(2 / 8)
    figures = stats.figures(deployment_salt=salt, version_id=7, variant="candidate")
    assert figures["predictions"] == 16 and figures["errors"] == 4
    assert figures["mean_confidence"] == 0.5
    assert figures["latency_ms_p50"] is not None
    # Another process sees them: they are on the cluster, not in this one.
    assert not stats._local
    other = redis.RedisCluster(
        startup_nodes=[
            redis.cluster.ClusterNode(h, p) for h, p in redis_cluster.startup_nodes
        ]
    )
    try:
        # One hash tag: the variant's counters and lists live on one master.
        key = f"cadml:modelreg:stats:{{{salt}:7:candidate}}"
        assert other.hget(key, "predictions") == b"16"
        assert other.llen(key + ":lat") == 16
    finally:
        other.close()
