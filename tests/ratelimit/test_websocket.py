"""WebSocket handshakes per IP and messages per connection."""

from __future__ import annotations

import json

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator

from apps.ratelimit.asgi import CLOSE_RATE_LIMITED, WebSocketRateLimitMiddleware

# Channels consumers close stale DB connections around each message.
pytestmark = pytest.mark.django_db


class Echo(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):  # type: ignore[no-untyped-def]
        await self.send(text_data=text_data)


def _app():  # type: ignore[no-untyped-def]
    return WebSocketRateLimitMiddleware(Echo.as_asgi())


async def _connect(ip: str):  # type: ignore[no-untyped-def]
    communicator = WebsocketCommunicator(_app(), "/ws/v1/events")
    communicator.scope["client"] = (ip, 50000)
    connected, _ = await communicator.connect()
    return communicator, connected


@pytest.mark.asyncio
async def test_handshakes_are_limited_per_ip(settings):
    settings.CADML_RATELIMIT_WS_HANDSHAKE = "2/minute"
    results = []
    for _ in range(3):
        communicator, connected = await _connect("198.51.100.20")
        results.append(connected)
        if connected:
            await communicator.disconnect()
    assert results == [True, True, False]
    # Another address is not affected.
    communicator, connected = await _connect("198.51.100.21")
    assert connected
    await communicator.disconnect()


@pytest.mark.asyncio
async def test_a_connection_sending_too_many_messages_is_closed(settings):
    settings.CADML_RATELIMIT_WS_MESSAGES = "3/minute"
    communicator, connected = await _connect("198.51.100.30")
    assert connected
    for i in range(3):
        await communicator.send_to(text_data=f"m{i}")
        assert await communicator.receive_from() == f"m{i}"
    await communicator.send_to(text_data="one too many")
    # An error frame that says why, then the close.
    error = json.loads(await communicator.receive_from())
    assert error["type"] == "error"
    assert error["code"] == "rate_limited"
    assert "3 messages in 60 s" in error["message"]
    closed = await communicator.receive_output()
    assert closed == {"type": "websocket.close", "code": CLOSE_RATE_LIMITED}
    await communicator.wait()


async def _send_all(communicator, count: int) -> int:  # type: ignore[no-untyped-def]
    """Send ``count`` messages; how many were echoed before the error frame."""
    for i in range(count):
        await communicator.send_to(text_data=f"m{i}")
        out = await communicator.receive_from()
        if out.startswith("{"):
            assert json.loads(out)["code"] == "rate_limited"
            return i
    return count


@pytest.mark.asyncio
async def test_the_default_limit_allows_120_messages_and_the_121st_closes():
    communicator, connected = await _connect("198.51.100.31")
    assert connected
    assert await _send_all(communicator, 120) == 120
    await communicator.send_to(text_data="121st")
    error = json.loads(await communicator.receive_from())
    assert error["code"] == "rate_limited"
    assert "120 messages in 60 s" in error["message"]
    closed = await communicator.receive_output()
    assert closed == {"type": "websocket.close", "code": CLOSE_RATE_LIMITED}
    await communicator.wait()


@pytest.mark.asyncio
async def test_no_60_second_span_ever_carries_121_messages(monkeypatch):
    """Messages bunched at the end of one minute and the start of the next: a
    two-window estimate lets the 121st through here; the window is exact."""
    now = [1000.0]
    monkeypatch.setattr("apps.ratelimit.asgi._clock", lambda: now[0])
    communicator, connected = await _connect("198.51.100.32")
    assert connected
    assert await _send_all(communicator, 1) == 1  # at 0 s
    now[0] += 59.9
    assert await _send_all(communicator, 119) == 119  # at 59.9 s
    now[0] += 0.6
    # At 60.5 s the first message has left the window: 120 in the last 60 s.
    assert await _send_all(communicator, 1) == 1
    now[0] += 0.1
    # At 60.6 s the last 60 s hold 119 + 1 messages: this one is the 121st.
    assert await _send_all(communicator, 1) == 0
    closed = await communicator.receive_output()
    assert closed == {"type": "websocket.close", "code": CLOSE_RATE_LIMITED}
    await communicator.wait()
