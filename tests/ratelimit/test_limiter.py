"""The limiter service: atomicity on real Redis, the local fallback's bounds, the
Retry-After arithmetic and the client address."""

from __future__ import annotations

import threading

import pytest
from prometheus_client import REGISTRY

from apps.ratelimit.client_ip import resolve_client_ip
from apps.ratelimit.engine import Row, get_limiter
from apps.ratelimit.services import ratelimit_check, ratelimit_hit


def _concurrently(n: int, fn):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_exactly_the_limit_passes_when_50_requests_race_on_redis(settings, redis_url):
    settings.REDIS_URL = redis_url
    settings.CADML_RATELIMIT_STORAGE_URL = redis_url
    settings.CADML_RATELIMIT_POLICIES = {"free": {"key": ["10/minute"]}}
    assert get_limiter().redis is not None

    decisions = _concurrently(
        50, lambda: ratelimit_check(plan="free", key="k-race", cost=1)
    )

    assert not any(d.local for d in decisions), "decided locally: Redis not used"
    assert sum(d.allowed for d in decisions) == 10
    refused = [d for d in decisions if not d.allowed]
    assert all(d.blocked_by.window.name == "key-minute" for d in refused)
    # At most one window, rounded up: a refusal in the very millisecond the
    # window opened must wait the full 60 s plus that millisecond, i.e. 61.
    assert all(1 <= d.retry_after <= 61 for d in refused), [
        d.retry_after for d in refused
    ]


def test_a_request_refused_by_one_window_does_not_use_up_the_others(
    settings, redis_url
):
    settings.REDIS_URL = redis_url
    settings.CADML_RATELIMIT_STORAGE_URL = redis_url
    settings.CADML_RATELIMIT_POLICIES = {
        "free": {"key": ["100/minute"], "tenant": ["3/minute"]}
    }
    for _ in range(3):
        assert ratelimit_check(plan="free", key="k1", tenant="t1").allowed
    refused = ratelimit_check(plan="free", key="k1", tenant="t1")
    assert not refused.allowed
    assert refused.blocked_by.window.scope == "tenant"
    # key k1 was charged 3, not 4: the refused request took nothing.
    key_state = next(s for s in refused.states if s.window.scope == "key")
    assert key_state.row.remaining == 97


def test_all_windows_of_a_request_take_one_redis_round_trip(settings, redis_url):
    settings.REDIS_URL = redis_url
    settings.CADML_RATELIMIT_STORAGE_URL = redis_url
    limiter = get_limiter()
    before = limiter.redis.round_trips
    decision = ratelimit_check(plan="free", ip="203.0.113.9", key="k9", tenant="t9")
    assert len(decision.states) >= 4  # key, tenant, ip, global windows
    assert limiter.redis.round_trips - before == 1


def test_the_local_fallback_keeps_memory_bounded_under_a_flood_of_identities(
    settings,
):
    settings.REDIS_URL = ""
    settings.CADML_RATELIMIT_STORAGE_URL = ""
    settings.CADML_RATELIMIT_LOCAL_MAX_KEYS = 200
    settings.CADML_RATELIMIT_POLICIES = {"free": {"key": ["5/minute"]}}
    limiter = get_limiter()
    assert limiter.redis is None

    for i in range(5000):
        ratelimit_check(plan="free", key=f"flood-{i}")
    assert len(limiter.local) <= 200

    # A hot identity is still limited while the flood goes on around it.
    allowed = 0
    for i in range(20):
        allowed += ratelimit_check(plan="free", key="hot").allowed
        ratelimit_check(plan="free", key=f"more-flood-{i}")
    assert allowed == 5
    assert len(limiter.local) <= 200


def test_the_local_limiter_is_atomic_across_threads(settings):
    settings.REDIS_URL = ""
    settings.CADML_RATELIMIT_STORAGE_URL = ""
    settings.CADML_RATELIMIT_POLICIES = {"free": {"key": ["10/minute"]}}
    decisions = _concurrently(50, lambda: ratelimit_check(plan="free", key="k"))
    assert sum(d.allowed for d in decisions) == 10


def test_shadow_windows_report_but_never_block(settings):
    settings.CADML_RATELIMIT_POLICIES = {
        "free": {"key": {"rates": ["2/minute"], "shadow": True}}
    }
    before = (
        REGISTRY.get_sample_value(
            "cadml_ratelimit_decisions_total",
            {"scope": "key", "outcome": "shadow_blocked"},
        )
        or 0
    )
    decisions = [ratelimit_check(plan="free", key="k-shadow") for _ in range(5)]
    assert all(d.allowed for d in decisions)
    assert decisions[-1].states[0].row.remaining == 0
    assert len(decisions[-1].shadow_exceeded) == 1
    after = REGISTRY.get_sample_value(
        "cadml_ratelimit_decisions_total",
        {"scope": "key", "outcome": "shadow_blocked"},
    )
    assert after - before == 3


def test_shadow_can_be_switched_on_per_plan_and_scope_by_setting(settings):
    settings.CADML_RATELIMIT_POLICIES = {"free": {"key": ["1/minute"]}}
    settings.CADML_RATELIMIT_SHADOW = ["free:key"]
    assert all(ratelimit_check(plan="free", key="k").allowed for _ in range(3))


def test_ad_hoc_limits_for_websocket_handshakes_use_the_same_engine(settings):
    results = [
        ratelimit_hit(scope="ws-handshake", identifier="198.51.100.4", rates="3/minute")
        for _ in range(4)
    ]
    assert [d.allowed for d in results] == [True, True, True, False]
    assert results[-1].headers()["RateLimit-Policy"] == '"ws-handshake-minute";q=3;w=60'


def test_retry_after_is_the_time_until_this_cost_fits_not_the_window():
    # 60 s window, limit 10: the previous window held 20 and has 30 s left to
    # decay, the current one holds 2: weighted floor(20 * 30/60) + 2 = 12.
    row = Row(
        limit=10,
        seconds=60,
        previous_count=20,
        previous_ttl=30_000,
        current_count=2,
        current_ttl=90_000,
        over=True,
    )
    # cost 1 fits once floor(20 * (30 - t)/60) <= 7: after 6 s; cost 3 after 12 s.
    assert row.wait_for(1) == 7
    assert row.wait_for(3) == 13
    # A full current window: wait for it to end (30 s), then for decay.
    full = Row(
        limit=10,
        seconds=60,
        previous_count=0,
        previous_ttl=0,
        current_count=10,
        current_ttl=90_000,
        over=True,
    )
    assert full.wait_for(1) == 31


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("198.51.100.7", "1.2.3.4", [], "198.51.100.7"),  # untrusted peer: ignored
        ("10.0.0.2", "1.2.3.4", ["10.0.0.0/8"], "1.2.3.4"),
        ("10.0.0.2", "6.6.6.6, 1.2.3.4", ["10.0.0.0/8"], "1.2.3.4"),  # forged left
        ("10.0.0.2", "1.2.3.4, 10.0.0.9", ["10.0.0.0/8"], "1.2.3.4"),  # two proxies
        ("10.0.0.2", "not-an-ip", ["10.0.0.0/8"], "10.0.0.2"),
        ("10.0.0.2", "[2001:db8::1]:443", ["10.0.0.0/8"], "2001:db8::1"),
        ("10.0.0.2", "10.0.0.3, 10.0.0.4", ["10.0.0.0/8"], "10.0.0.3"),
    ],
)
def test_client_ip_is_the_rightmost_untrusted_hop(
    settings, remote, forwarded, trusted, expected
):
    settings.CADML_TRUSTED_PROXIES = trusted
    assert resolve_client_ip(remote, forwarded) == expected


def test_unreachable_redis_falls_back_to_scaled_local_limits_and_warns_once(
    settings, caplog
):
    from tests.servers import free_port

    settings.CADML_RATELIMIT_STORAGE_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.CADML_RATELIMIT_BREAKER_BACKOFF_S = 0  # try Redis on every call
    settings.CADML_RATELIMIT_LOCAL_FRACTION = 0.5
    settings.CADML_RATELIMIT_POLICIES = {"free": {"key": ["10/minute"]}}
    errors_before = REGISTRY.get_sample_value("cadml_ratelimit_redis_errors_total")

    decisions = [ratelimit_check(plan="free", key="k-down") for _ in range(8)]

    assert all(d.local for d in decisions)
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 3
    assert decisions[0].headers()["RateLimit-Policy"] == '"key-minute";q=5;w=60'
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # at most one a minute, however many failures
    errors_after = REGISTRY.get_sample_value("cadml_ratelimit_redis_errors_total")
    assert errors_after - errors_before == 8
