"""End to end on real processes: daphne, PostgreSQL and Redis (one of them a
redis-server this test starts, stops and restarts)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from uuid import uuid4

import pytest
import redis

from apps.accounts.services import api_key_create, tenant_create
from tests.servers import free_port, running_daphne, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _get(url: str, key: str) -> tuple[int, Message]:
    request = urllib.request.Request(url, headers={"Authorization": f"Api-Key {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers


def _new_key(tenant) -> str:  # type: ignore[no-untyped-def]
    return api_key_create(
        tenant=tenant, name="rl", scopes=["read"], created_by=None
    ).plaintext


def _server_env(policies: dict, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": test_database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.ratelimit.server_settings",
        "TEST_RATELIMIT_POLICIES": json.dumps(policies),
        "CADML_RATELIMIT_NAMESPACE": f"it-{uuid4().hex[:10]}",
        **extra,
    }


@contextmanager
def redis_process(binary: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(  # noqa: S603
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_timeout=1)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield process
    finally:
        client.close()
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def test_50_concurrent_http_requests_against_a_limit_of_10_let_exactly_10_through(
    postgres, redis_url
):
    tenant = tenant_create(slug="rl-race", plan="pro")
    key = _new_key(tenant)
    # What is counted here is the shared counter's atomicity: a socket timeout
    # long enough that 50 requests at once on a loaded machine never fall back
    # to local limits (the fallback has its own test below).
    env = _server_env(
        {"pro": {"key": ["10/minute"]}},
        REDIS_URL=redis_url,
        CADML_RATELIMIT_SOCKET_TIMEOUT_MS="2000",
    )
    with running_daphne(env) as server:
        barrier = threading.Barrier(50)
        statuses: list[int] = []

        def call() -> None:
            barrier.wait()
            statuses.append(_get(f"{server.url}/api/v1/me", key)[0])

        threads = [threading.Thread(target=call) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [200] * 10 + [429] * 40


def _shared_policy(url: str, tenant) -> str:  # type: ignore[no-untyped-def]
    """The policy a new key is answered with once the shared limits apply
    (within 10 s), else the last one seen."""
    deadline = time.monotonic() + 10
    policy = ""
    while time.monotonic() < deadline:
        status, headers = _get(url, _new_key(tenant))
        assert status == 200
        policy = headers["RateLimit-Policy"]
        if "q=20;" in policy:
            break
        time.sleep(0.1)
    return policy


def test_redis_outage_falls_back_to_local_limits_and_heals_by_itself(
    postgres, redis_url, redis_server_binary
):
    tenant = tenant_create(slug="rl-outage", plan="pro")
    port = free_port()
    env = _server_env(
        {"pro": {"key": ["20/minute"]}},
        REDIS_URL=redis_url,  # cache and channels stay up; only the limiter's goes
        CADML_RATELIMIT_STORAGE_URL=f"redis://127.0.0.1:{port}/0",
        CADML_RATELIMIT_LOCAL_FRACTION="0.25",
        CADML_RATELIMIT_BREAKER_BACKOFF_S="0.2",
        CADML_RATELIMIT_BREAKER_MAX_BACKOFF_S="0.5",
    )
    limiter_redis = redis.Redis(port=port, socket_timeout=1)
    with running_daphne(env) as server:
        me = f"{server.url}/api/v1/me"
        with redis_process(redis_server_binary, port) as redis_server:
            # The limiter's first round trip may outlast its 50 ms socket
            # timeout on a loaded machine; it then falls back and retries.
            assert '"key-minute";q=20;w=60' in _shared_policy(me, tenant)
            assert limiter_redis.dbsize() > 0  # the shared counters live here

            # Stop Redis while a client keeps calling.
            load_key = _new_key(tenant)
            seen: list[int] = []
            stop = threading.Event()

            def hammer() -> None:
                while not stop.is_set():
                    seen.append(_get(me, load_key)[0])

            loader = threading.Thread(target=hammer)
            loader.start()
            time.sleep(0.3)
            redis_server.terminate()
            redis_server.wait(timeout=10)
            time.sleep(0.7)
            stop.set()
            loader.join()
        assert seen and all(s < 500 for s in seen), sorted(set(seen))

        # Local limits apply: a quarter of the shared limit, in this process.
        local_key = _new_key(tenant)
        results = [_get(me, local_key) for _ in range(7)]
        assert [s for s, _ in results] == [200] * 5 + [429] * 2
        assert '"key-minute";q=5;w=60' in results[0][1]["RateLimit-Policy"]

        # Redis comes back on the same address: shared limits resume by themselves.
        with redis_process(redis_server_binary, port):
            assert '"key-minute";q=20;w=60' in _shared_policy(me, tenant)
            shared_key = _new_key(tenant)
            remaining = [_get(me, shared_key)[1]["RateLimit"] for _ in range(3)]
            assert '"key-minute";r=17;' in remaining[-1]
            assert limiter_redis.dbsize() > 0
    limiter_redis.close()
