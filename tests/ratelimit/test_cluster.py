"""The limiter against a real three-master Redis Cluster (tests/redis_cluster.py):
exact limits under concurrency, all-or-nothing across a tenant's windows (one
hash slot), and a master failover."""

from __future__ import annotations

import time

import pytest

from apps.ratelimit.engine import get_limiter
from apps.ratelimit.services import ratelimit_check
from tests.ratelimit.test_limiter import _concurrently


@pytest.fixture
def on_cluster(settings, redis_cluster):  # type: ignore[no-untyped-def]
    settings.CADML_RATELIMIT_STORAGE_URL = redis_cluster.url
    settings.CADML_RATELIMIT_SOCKET_TIMEOUT_MS = 500
    limiter = get_limiter()
    assert limiter.redis is not None and limiter.redis.one_call_per_window
    return redis_cluster


def test_exactly_the_limit_passes_when_50_requests_race_on_the_cluster(
    settings, on_cluster
):  # type: ignore[no-untyped-def]
    settings.CADML_RATELIMIT_POLICIES = {
        "free": {"key": ["10/minute"], "tenant": ["1000/minute"]}
    }
    decisions = _concurrently(
        50, lambda: ratelimit_check(plan="free", key="k-race", tenant="t-race")
    )
    assert not any(d.local for d in decisions), "decided locally: cluster not used"
    assert sum(d.allowed for d in decisions) == 10


def test_a_tenants_windows_share_one_slot_and_stay_all_or_nothing(settings, on_cluster):  # type: ignore[no-untyped-def]
    settings.CADML_RATELIMIT_POLICIES = {
        "free": {"key": ["100/minute"], "tenant": ["3/minute"]}
    }
    engine = get_limiter().redis
    before = engine.round_trips
    for _ in range(3):
        assert ratelimit_check(plan="free", key="k-aon", tenant="t-aon").allowed
    assert engine.round_trips - before == 3  # one script call per request
    refused = ratelimit_check(plan="free", key="k-aon", tenant="t-aon")
    assert not refused.allowed and not refused.local
    key_state = next(s for s in refused.states if s.window.scope == "key")
    # The refused request took nothing from the key window.
    assert key_state.row.remaining == 97


def test_ip_windows_sit_in_their_own_slot(settings, on_cluster):  # type: ignore[no-untyped-def]
    settings.CADML_RATELIMIT_POLICIES = {
        "free": {"key": ["100/minute"], "tenant": ["100/minute"], "ip": ["2/minute"]}
    }
    for _ in range(2):
        assert ratelimit_check(plan="free", key="k-ip", tenant="t-ip", ip="10.9.0.1")
    refused = ratelimit_check(plan="free", key="k-ip", tenant="t-ip", ip="10.9.0.1")
    assert not refused.allowed and refused.blocked_by.window.scope == "ip"
    # Another tenant's request from the same address is refused by the same window.
    other = ratelimit_check(plan="free", key="k-ip2", tenant="t-ip2", ip="10.9.0.1")
    assert not other.allowed


def test_limits_resume_after_a_master_failover(settings, on_cluster):  # type: ignore[no-untyped-def]
    settings.CADML_RATELIMIT_POLICIES = {"free": {"key": ["10/minute"]}}
    settings.CADML_RATELIMIT_BREAKER_BACKOFF_S = 0.2
    for _ in range(5):
        decision = ratelimit_check(plan="free", key="k-fail", tenant="t-fail")
        assert decision.allowed and not decision.local
    previous, current = get_limiter().key(
        "unused", tag="tt-fail"
    )  # any key with the tenant's tag lives in the tenant's slot
    old, new = on_cluster.failover(current)
    assert old != new
    # No exception reaches the caller; after at most the breaker's back-off the
    # cluster decides again, with the counts the old master had replicated.
    deadline = time.monotonic() + 15
    decision = ratelimit_check(plan="free", key="k-fail", tenant="t-fail")
    while decision.local and time.monotonic() < deadline:
        time.sleep(0.2)
        decision = ratelimit_check(plan="free", key="k-fail", tenant="t-fail")
    assert not decision.local, "the limiter never went back to the cluster"
    assert decision.allowed
    rest = [
        ratelimit_check(plan="free", key="k-fail", tenant="t-fail") for _ in range(8)
    ]
    assert not any(d.local for d in rest)
    assert sum(d.allowed for d in rest) == 4  # 5 before + 1 + 4 = the limit of 10
