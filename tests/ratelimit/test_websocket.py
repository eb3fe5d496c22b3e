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
