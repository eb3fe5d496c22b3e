"""A real daphne on a real Redis Cluster (tests/redis_cluster.py) and nothing
else of Redis (``REDIS_URL`` empty): a WebSocket client follows a job's
progress published by another process while masters fail over, HTTP answers
without a 5xx throughout, and connection limits hold afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from apps.batch.models import BatchJob
from apps.realtime.history import KEY_PREFIX, _stream_key
from tests.conftest import require
from tests.servers import PROJECT_ROOT, Server, running_daphne, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EVENTS = 300

PUBLISHER = """
import json, sys, time
import django
django.setup()
from apps.realtime.services import publish
channel, events, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
errors = []
for n in range(1, events + 1):
    try:
        publish(channel, "batch.progress", {"done": n, "total": events})
    except Exception as exc:
        errors.append(f"{n}: {type(exc).__name__}: {exc}")
    time.sleep(pause)
print(json.dumps({"errors": errors}))
"""


@pytest.fixture
def cluster_env(redis_cluster, django_db_setup) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from django.conf import settings

    require(
        settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "PostgreSQL not configured: set DATABASE_URL=postgres://...",
    )
    return {
        "DATABASE_URL": test_database_url(),
        "CADML_REDIS_CLUSTER_URL": redis_cluster.url,
        "REDIS_URL": "",  # nothing may fall back to a standalone Redis
        "CADML_WS_SLOT_TTL_S": "6",
        "DEBUG": "1",
    }


@pytest.fixture
def daphne(cluster_env) -> Iterator[Server]:  # type: ignore[no-untyped-def]
    with running_daphne(cluster_env) as server:
        yield server


TICKET_EVERY_S = 2.0


class Poller(threading.Thread):
    """Calls the HTTP API (keys, cache, limiter, readiness) until stopped."""

    def __init__(self, server: Server, key: str) -> None:
        super().__init__(daemon=True)
        self.server, self.key = server, key
        self.results: list[tuple[float, str, int]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Api-Key {self.key}"}
        calls = [
            ("GET", "/api/v1/me"),
            ("POST", "/api/v1/realtime/tickets"),
            ("GET", "/readyz"),
        ]
        # Tickets are limited to 60 a minute per key, and the follower's
        # reconnects and the socket limits below need some of them: one every
        # TICKET_EVERY_S leaves them room (a 429 there failed the test).
        next_ticket = 0.0
        with httpx.Client(base_url=self.server.url, timeout=10) as client:
            while not self.stopped.is_set():
                for method, path in calls:
                    if path.endswith("/tickets"):
                        if time.monotonic() < next_ticket:
                            continue
                        next_ticket = time.monotonic() + TICKET_EVERY_S
                    status = client.request(method, path, headers=headers).status_code
                    self.results.append((time.monotonic(), path, status))
                time.sleep(0.05)


def ticket(server: Server, key: str) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/realtime/tickets",
        headers={"Authorization": f"Api-Key {key}"},
    )
    assert response.status_code == 201, response.text
    return response.json()["ticket"]


async def open_ws_raw(server: Server, key: str) -> ClientConnection:
    fresh = await asyncio.to_thread(ticket, server, key)
    return await connect(f"{server.ws_url}/ws/v1/events?ticket={fresh}")


async def open_ws(server: Server, key: str) -> ClientConnection:
    ws = await open_ws_raw(server, key)
    welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert welcome["type"] == "welcome", welcome
    return ws


async def recv(ws: ClientConnection) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if message["type"] == "ping":
            await ws.send('{"type": "pong"}')
            continue
        return message


async def subscribe(ws: ClientConnection, channel: str, last: int | None) -> None:
    message: dict[str, Any] = {"type": "subscribe", "channel": channel}
    if last is not None:
        message["last_event_id"] = last
    await ws.send(json.dumps(message))
    answer = await recv(ws)
    assert answer["type"] == "subscribed", answer


def test_a_job_followed_over_websocket_survives_master_failovers(
    daphne, redis_cluster, api_client_b, tenant_b
):  # type: ignore[no-untyped-def]
    server, key = daphne, api_client_b.plaintext
    job = BatchJob.objects.create(tenant=tenant_b, total=EVENTS)
    channel = f"job:{job.pk}"
    poller = Poller(server, key)
    reconnects = 0
    failed_over: list[float] = []

    async def follow(seen: list[int], ready: asyncio.Event) -> None:
        """Every event of the job, reconnecting with ``last_event_id`` (the
        documented resume) if the socket drops."""
        nonlocal reconnects
        ws = await open_ws(server, key)
        await subscribe(ws, channel, None)
        ready.set()
        while not seen or seen[-1] < EVENTS:
            try:
                message = await recv(ws)
            except ConnectionClosed:
                reconnects += 1
                ws = await open_ws(server, key)
                await subscribe(ws, channel, seen[-1] if seen else 0)
                continue
            assert message["type"] == "event", message
            seen.append(message["event"]["id"])
            assert message["event"]["data"]["done"] == seen[-1]
        await ws.close()

    async def scenario() -> list[int]:
        seen: list[int] = []
        ready = asyncio.Event()
        follower = asyncio.ensure_future(follow(seen, ready))
        await asyncio.wait_for(ready.wait(), 10)
        publisher = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            PUBLISHER,
            channel,
            str(EVENTS),
            "0.02",
            cwd=PROJECT_ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "cadml.settings",
                "DATABASE_URL": test_database_url(),
                "CADML_REDIS_CLUSTER_URL": redis_cluster.url,
                "REDIS_URL": "",
            },
            stdout=subprocess.PIPE,
        )
        while len(seen) < 50:
            assert not follower.done(), follower.exception()
            await asyncio.sleep(0.05)
        # The master of the job's history, then that of the connection slots
        # (once if one master holds both).
        keys = [_stream_key(channel), f"{KEY_PREFIX}:{{conn}}:x"]
        masters = [await asyncio.to_thread(redis_cluster.master_of, k) for k in keys]
        for slot_key in keys[: 1 if masters[0] == masters[1] else 2]:
            await asyncio.to_thread(redis_cluster.failover, slot_key)
            failed_over.append(time.monotonic())
        assert len(seen) < EVENTS  # the failovers happened mid-stream
        try:
            await asyncio.wait_for(follower, 120)
        except AssertionError as exc:
            # Whether a publish failed mid-failover or an event was lost.
            out, _ = await publisher.communicate()
            raise AssertionError(f"{exc}; the publisher said {out[-2000:]!r}") from exc
        out, _ = await publisher.communicate()
        assert publisher.returncode == 0
        assert json.loads(out)["errors"] == []
        return seen

    poller.start()
    try:
        seen = asyncio.run(scenario())
        time.sleep(TICKET_EVERY_S + 1)  # a few calls after the failovers too
    finally:
        poller.stopped.set()
        poller.join(15)
    # Each progress event exactly once, in order, across the failovers.
    assert seen == list(range(1, EVENTS + 1)), (reconnects, seen[:5])
    errors = [(path, status) for _, path, status in poller.results if status >= 500]
    assert errors == []
    after = [r for r in poller.results if r[0] > failed_over[-1]]
    assert {path for _, path, status in after if status < 300} == {
        "/api/v1/me",
        "/api/v1/realtime/tickets",
        "/readyz",
    }

    async def limits() -> None:
        # Tenant B is on the free plan: 5 sockets per key, on the new master.
        sockets = [await open_ws(server, key) for _ in range(5)]
        ws = await open_ws_raw(server, key)
        refusal = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert refusal["code"] == "too_many_connections", refusal
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4429
        await sockets.pop().close()
        await asyncio.sleep(0.2)
        sockets.append(await open_ws(server, key))  # the freed slot is usable
        for socket in sockets:
            await socket.close()

    asyncio.run(limits())
