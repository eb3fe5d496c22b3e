"""Helpers for the realtime tests: a fresh realtime state per test, WebSocket
communicators against the real ASGI application, tickets over REST."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from apps.realtime import history, limits

WS_PATH = "/ws/v1/events"


def async_test(
    func: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., None]:
    """Run an async test the way Django's TestCase does: from this (sync) test
    thread through ``async_to_sync``, so the consumer's ``database_sync_to_async``
    calls come back to this thread and see the test's transaction. That spares
    a ``transaction=True`` flush of every table per test."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        async_to_sync(func)(*args, **kwargs)

    return wrapper


@pytest.fixture(autouse=True)
def keep_test_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """``database_sync_to_async`` closes "old" connections around each call, and
    the test's connection, inside its transaction, looks old. Django's test
    client switches the same clean-up off around its requests; so do we."""
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


@pytest.fixture(autouse=True)
def fresh_realtime_state() -> Iterator[None]:
    """Event ids, history and connection slots start empty in every test, in
    Redis (this test run's database only) or in memory."""

    def clear() -> None:
        for backend in list(history._backends.values()):
            if isinstance(backend, history.MemoryHistory):
                backend.clear()
        for limiter in list(limits._limiters.values()):
            if isinstance(limiter, limits.MemoryLimiter):
                limiter.clear()
        if settings.REDIS_URL:
            client = redis.Redis.from_url(settings.REDIS_URL)
            keys = list(client.scan_iter(f"{history.KEY_PREFIX}:*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()

    clear()
    yield
    clear()


def application() -> Any:
    from cadml.asgi import application as app

    return app


def communicator(
    *, ticket: str | None = None, headers: list[tuple[bytes, bytes]] | None = None
) -> WebsocketCommunicator:
    path = WS_PATH + (f"?ticket={ticket}" if ticket is not None else "")
    return WebsocketCommunicator(application(), path, headers=headers or [])


def session_headers(user: Any) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode())]


def issue_ticket(client: APIClient) -> str:
    response = client.post("/api/v1/realtime/tickets")
    assert response.status_code == 201, response.content
    return response.json()["ticket"]


async def connected(
    *, ticket: str | None = None, headers: list[tuple[bytes, bytes]] | None = None
) -> WebsocketCommunicator:
    """An open, welcomed connection."""
    comm = communicator(ticket=ticket, headers=headers)
    ok, code = await comm.connect()
    assert ok, f"handshake refused ({code})"
    welcome = await receive(comm)
    assert welcome["type"] == "welcome", welcome
    return comm


async def connected_with_key(client: APIClient) -> WebsocketCommunicator:
    return await connected(ticket=await sync_to_async(issue_ticket)(client))


async def connected_as(user: Any) -> WebsocketCommunicator:
    return await connected(headers=await sync_to_async(session_headers)(user))


async def receive(comm: WebsocketCommunicator, timeout: float = 3) -> dict[str, Any]:
    return json.loads(await comm.receive_from(timeout=timeout))


async def send(comm: WebsocketCommunicator, message: dict[str, Any]) -> None:
    await comm.send_to(text_data=json.dumps(message))


async def subscribe(
    comm: WebsocketCommunicator, channel: str, last_event_id: int | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "subscribe", "channel": channel}
    if last_event_id is not None:
        message["last_event_id"] = last_event_id
    await send(comm, message)
    return await receive(comm)
