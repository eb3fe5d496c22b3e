"""Two real daphne processes on channels-redis behave as one.

Every server runs with a 2 s connection-slot expiry so that the crash test can
watch a killed process's slots lapse.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from apps.realtime.services import publish
from tests.conftest import redis_missing, require
from tests.servers import Server, running_daphne, test_database_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SLOT_TTL_S = "2"


@pytest.fixture(scope="module")
def server_env(django_db_setup) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from django.conf import settings

    require(
        settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "PostgreSQL not configured: set DATABASE_URL=postgres://...",
    )
    reason = redis_missing(settings.REDIS_URL)
    require(reason is None, reason or "")
    return {
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CADML_WS_SLOT_TTL_S": SLOT_TTL_S,
        "DEBUG": "1",
    }


@pytest.fixture(scope="module")
def two_daphnes(server_env) -> Iterator[tuple[Server, Server]]:  # type: ignore[no-untyped-def]
    """Started once for the module: the servers read each test's rows from the
    test database, and realtime keys are cleared between tests."""
    with ExitStack() as stack:
        first = stack.enter_context(running_daphne(server_env))
        second = stack.enter_context(running_daphne(server_env))
        yield first, second


def ticket(server: Server, key: str) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/realtime/tickets",
        headers={"Authorization": f"Api-Key {key}"},
    )
    assert response.status_code == 201, response.text
    return response.json()["ticket"]


async def open_ws(server: Server, key: str) -> ClientConnection:
    ws = await connect(f"{server.ws_url}/ws/v1/events?ticket={ticket(server, key)}")
    welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert welcome["type"] == "welcome", welcome
    return ws


async def recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def subscribe(
    ws: ClientConnection, channel: str, last: int | None = None
) -> dict:
    message: dict[str, Any] = {"type": "subscribe", "channel": channel}
    if last is not None:
        message["last_event_id"] = last
    await ws.send(json.dumps(message))
    return await recv(ws)


async def next_event(ws: ClientConnection) -> dict[str, Any]:
    while True:
        message = await recv(ws)
        if message["type"] == "event":
            return message["event"]
        assert message["type"] == "ping", message


async def refused_with_4429(server: Server, key: str) -> bool:
    """Open a socket; True if the server closed it for too many connections."""
    ws = await open_ws_raw(server, key)
    try:
        first = json.loads(await asyncio.wait_for(ws.recv(), 5))
    except ConnectionClosed:
        return ws.close_code == 4429
    if first["type"] == "welcome":
        await ws.close()
        return False
    assert first["code"] == "too_many_connections", first
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    # daphne does not pass a close reason on; the error frame carries it.
    assert ws.close_code == 4429 and "limit 5" in first["message"]
    return True


async def open_ws_raw(server: Server, key: str) -> ClientConnection:
    return await connect(f"{server.ws_url}/ws/v1/events?ticket={ticket(server, key)}")


def test_handshakes_without_a_ticket_or_from_another_origin_get_403(
    two_daphnes, api_client_a
):
    server, _ = two_daphnes

    async def scenario() -> None:
        with pytest.raises(InvalidStatus) as no_ticket:
            await connect(f"{server.ws_url}/ws/v1/events")
        assert no_ticket.value.response.status_code == 403
        with pytest.raises(InvalidStatus) as reused:
            good = ticket(server, api_client_a.plaintext)
            ws = await connect(f"{server.ws_url}/ws/v1/events?ticket={good}")
            await ws.close()
            await connect(f"{server.ws_url}/ws/v1/events?ticket={good}")
        assert reused.value.response.status_code == 403
        with pytest.raises(InvalidStatus) as cross_origin:
            await connect(
                f"{server.ws_url}/ws/v1/events"
                f"?ticket={ticket(server, api_client_a.plaintext)}",
                origin="https://evil.example",
            )
        assert cross_origin.value.response.status_code == 403

    asyncio.run(scenario())


def test_an_event_published_in_one_process_reaches_a_client_of_the_other(
    two_daphnes, admin_client_a
):
    publisher, listener = two_daphnes
    key = admin_client_a.plaintext

    async def scenario() -> None:
        ws = await open_ws(listener, key)
        assert (await subscribe(ws, "tenant:tenant-a"))["type"] == "subscribed"
        # Creating a key through the *other* process publishes there.
        response = await asyncio.to_thread(
            httpx.post,
            f"{publisher.url}/api/v1/api-keys",
            headers={"Authorization": f"Api-Key {key}"},
            json={"name": "from-a", "scopes": ["read"]},
        )
        assert response.status_code == 201, response.text
        event = await next_event(ws)
        assert event["type"] == "api_key.created"
        assert event["data"]["name"] == "from-a"
        await ws.close()

    asyncio.run(scenario())


def test_a_client_reconnecting_to_the_other_process_sees_every_event_once_in_order(
    two_daphnes, api_client_a
):
    first, second = two_daphnes
    key = api_client_a.plaintext
    channel = "model:reconnect-test"
    total = 300
    started = threading.Event()

    def publisher() -> None:
        started.wait(10)
        for n in range(1, total + 1):
            publish(channel, "model.progress", {"n": n})
            time.sleep(0.002)

    async def scenario() -> list[int]:
        seen: list[int] = []
        ws = await open_ws(first, key)
        await subscribe(ws, channel)
        started.set()
        while len(seen) < 40:
            seen.append((await next_event(ws))["id"])
        await ws.close()  # drops while events keep coming
        ws = await open_ws(second, key)
        subscribed = await subscribe(ws, channel, last=seen[-1])
        assert subscribed == {
            "type": "subscribed",
            "channel": channel,
            "last_event_id": seen[-1],
        }
        while seen[-1] < total:
            seen.append((await next_event(ws))["id"])
        await ws.close()
        return seen

    thread = threading.Thread(target=publisher)
    thread.start()
    try:
        seen = asyncio.run(scenario())
    finally:
        started.set()
        thread.join()
    assert seen == list(range(1, total + 1))


def test_connection_limits_hold_across_processes(two_daphnes, api_client_b):
    # tenant B is on the free plan: 5 connections per key.
    first, second = two_daphnes
    key = api_client_b.plaintext

    async def scenario() -> None:
        sockets = [await open_ws(first, key) for _ in range(3)]
        sockets += [await open_ws(second, key) for _ in range(2)]
        assert await refused_with_4429(first, key)
        assert await refused_with_4429(second, key)
        await sockets.pop().close()
        # The released slot is free at once, on either process.
        sockets.append(await open_ws(first, key))
        for ws in sockets:
            await ws.close()

    asyncio.run(scenario())


def test_killing_a_process_frees_its_slots_within_the_expiry(
    two_daphnes, server_env, api_client_b
):
    _, survivor = two_daphnes
    key = api_client_b.plaintext

    async def scenario(victim: Server) -> float:
        sockets = [await open_ws(victim, key) for _ in range(5)]
        assert await refused_with_4429(survivor, key)
        victim.stop(signal.SIGKILL)  # no disconnect handlers run
        killed = time.monotonic()
        while await refused_with_4429(survivor, key):
            assert time.monotonic() - killed < 15, "slots were never freed"
            await asyncio.sleep(0.25)
        for ws in sockets:
            ws.transport.abort()
        return time.monotonic() - killed

    with running_daphne(server_env) as victim:
        asyncio.run(scenario(victim))
