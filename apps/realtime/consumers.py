"""``/ws/v1/events``: one WebSocket, many channel subscriptions.

Client -> server: ``subscribe {channel, last_event_id?}``, ``unsubscribe
{channel}``, ``ping``, ``pong`` (the answer to the server's ``ping``).
Server -> client: ``welcome``, ``subscribed``, ``unsubscribed``, ``event``,
``ping``, ``pong``, ``reset``, ``error``.

Ordering: live events come from the process's hub (``hub.py``) into this
consumer's inbox and are handled under the same lock as subscribe, so events that
arrive while a subscribe joins and reads history wait in the inbox. Each
subscription remembers the last id it delivered; a live event at or below it is a
duplicate and dropped, one above the next expected id means an event is still in
flight from another publisher, and the gap is filled from history. Clients
therefore see every id exactly once, in order, or a ``reset``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
import uuid
from collections import deque
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from apps.realtime.channels import can_subscribe, channel_parse
from apps.realtime.history import Replay, get_history
from apps.realtime.hub import get_hub
from apps.realtime.limits import get_limiter, slot_ttl, slots_for
from apps.realtime.principal import Principal
from apps.realtime.services import (
    consumer_loop_started,
    key_control_channel,
    user_control_channel,
)
from cadml import metrics
from cadml.lib.errors import InvalidInput

logger = logging.getLogger(__name__)

CLOSE_BAD_CLIENT = 4400
CLOSE_SILENT = 4408
CLOSE_TOO_MANY = 4429
CLOSE_REVOKED = 4401
BAD_MESSAGE_WINDOW_S = 60.0


def _now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


_can_subscribe = database_sync_to_async(can_subscribe)


def process_socket_limit() -> int:
    """How many sockets this process can hold at most: its open-file limit
    (every WebSocket is a file descriptor). ``cadml_ws_connection_limit``, which
    the connections-near-limit alert divides by."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1_048_576


class EventsConsumer(AsyncWebsocketConsumer):
    # Live events and control messages reach a socket through the process's hub
    # (hub.py), never through a channel-layer channel of its own. An alias that
    # names no layer makes Channels give the socket none (get_channel_layer ->
    # None), which spares every socket a pending channel-layer receive.
    channel_layer_alias = "realtime-hub-only"
    principal: Principal | None = None
    heartbeat_task: asyncio.Task[None] | None = None
    drain_task: asyncio.Task[None] | None = None
    control_channels: tuple[str, ...] = ()

    async def connect(self) -> None:
        self.subscriptions: dict[str, int] = {}  # channel -> last delivered id
        self.bad_messages: deque[float] = deque()
        self.slots: list = []
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.lock = asyncio.Lock()
        consumer_loop_started(asyncio.get_running_loop())
        self.principal = self.scope.get("principal")
        if self.principal is None:
            metrics.ws_connects.labels("rejected_auth").inc()
            await self.close()  # before accept: the handshake is refused (403)
            return
        self.connection_id = uuid.uuid4().hex
        self.heartbeat_s = float(settings.CADML_WS_HEARTBEAT_S)
        self.last_seen = time.monotonic()
        slots = slots_for(self.principal)
        full = await get_limiter().acquire(slots, self.connection_id)
        # A close code only exists after the handshake: accept, then close.
        await self.accept()
        if full is not None:
            reason = f"too many connections for this {full.what} (limit {full.limit})"
            await self.send_json(
                {"type": "error", "code": "too_many_connections", "message": reason}
            )
            metrics.ws_connects.labels("rejected_limit").inc()
            await self.close(code=CLOSE_TOO_MANY, reason=reason)
            return
        metrics.ws_connects.labels("accepted").inc()
        metrics.ws_connections.inc()
        metrics.ws_connection_limit.set(process_socket_limit())
        self.counted = True
        self.slots = slots
        # Revoking the key, removing a membership of the user or deactivating
        # the user closes this socket (services.*_connections_close_on_commit).
        if self.principal.api_key_id is not None:
            self.control_channels += (key_control_channel(self.principal.api_key_id),)
        if self.principal.user_id is not None:
            self.control_channels += (user_control_channel(self.principal.user_id),)
        for channel in self.control_channels:
            await get_hub().join(channel, self)
        self.heartbeat_task = asyncio.ensure_future(self._heartbeat())
        self.drain_task = asyncio.ensure_future(self._drain())
        await self.send_json(
            {
                "type": "welcome",
                "connection_id": self.connection_id,
                "heartbeat_s": self.heartbeat_s,
                "server_time": _now_iso(),
            }
        )

    async def disconnect(self, code: int) -> None:
        if getattr(self, "counted", False):
            self.counted = False
            metrics.ws_connections.dec()
        for task in (self.heartbeat_task, self.drain_task):
            if task is not None:
                task.cancel()
        hub = get_hub()
        for channel in list(getattr(self, "subscriptions", {})):
            await hub.leave(channel, self)
        control_channels, self.control_channels = self.control_channels, ()
        for channel in control_channels:
            await hub.leave(channel, self)
        self.subscriptions = {}
        if self.slots:
            slots, self.slots = self.slots, []
            try:
                await get_limiter().release(slots, self.connection_id)
            except Exception:  # the slots lapse on their own
                logger.warning("could not release connection slots", exc_info=True)

    # --- outgoing -------------------------------------------------------------

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def error(self, code: str, message: str, **extra: Any) -> None:
        """Answer a bad message; too many of them in a minute close the socket."""
        await self.send_json(
            {"type": "error", "code": code, "message": message, **extra}
        )
        now = time.monotonic()
        self.bad_messages.append(now)
        while self.bad_messages and self.bad_messages[0] <= now - BAD_MESSAGE_WINDOW_S:
            self.bad_messages.popleft()
        if len(self.bad_messages) > settings.CADML_WS_MAX_BAD_MESSAGES:
            await self.close(
                code=CLOSE_BAD_CLIENT, reason="too many bad messages in a minute"
            )

    # --- incoming -------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        self.last_seen = time.monotonic()
        if text_data is None:
            await self.error("binary_not_supported", "send JSON text frames")
            return
        limit = int(settings.CADML_WS_MAX_MESSAGE_BYTES)
        if len(text_data) > limit // 4 and len(text_data.encode()) > limit:
            await self.error("too_large", f"messages are at most {limit} bytes")
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self.error("invalid_json", "frames must be JSON objects")
            return
        if not isinstance(message, dict):
            await self.error("invalid_json", "frames must be JSON objects")
            return
        kind = message.get("type")
        if kind == "subscribe":
            async with self.lock:
                await self.subscribe(message)
        elif kind == "unsubscribe":
            async with self.lock:
                await self.unsubscribe(message)
        elif kind == "ping":
            await self.send_json({"type": "pong", "server_time": _now_iso()})
        elif kind == "pong":
            pass  # the answer to our ping; last_seen is already updated
        else:
            await self.error(
                "unknown_type",
                "type must be one of subscribe, unsubscribe, ping, pong",
            )

    async def subscribe(self, message: dict[str, Any]) -> None:
        channel = message.get("channel", "")
        try:
            channel_parse(channel)
        except InvalidInput as exc:
            await self.error("invalid_channel", exc.message)
            return
        last_event_id = message.get("last_event_id")
        if last_event_id is not None and (
            type(last_event_id) is not int or not 0 <= last_event_id < 2**53
        ):
            await self.error(
                "invalid",
                "last_event_id must be a non-negative integer",
                channel=channel,
            )
            return
        if channel in self.subscriptions:
            await self.error(
                "already_subscribed", "already subscribed", channel=channel
            )
            return
        limit = int(settings.CADML_WS_MAX_SUBSCRIPTIONS)
        if len(self.subscriptions) >= limit:
            await self.error(
                "too_many_subscriptions",
                f"at most {limit} subscriptions per connection",
                channel=channel,
            )
            return
        assert self.principal is not None
        if not await _can_subscribe(self.principal, channel):
            await self.error(
                "forbidden",
                "no such channel, or you may not subscribe to it",
                channel=channel,
            )
            return
        # Join first, read history second: see the module docstring.
        await get_hub().join(channel, self)
        replay = await get_history().aread(channel, last_event_id)
        if last_event_id is None or replay.complete:
            position = replay.last_id if last_event_id is None else last_event_id
            self.subscriptions[channel] = position
            await self.send_json(
                {"type": "subscribed", "channel": channel, "last_event_id": position}
            )
            await self._deliver(channel, replay)
        else:
            self.subscriptions[channel] = replay.last_id
            await self.send_json(
                {
                    "type": "subscribed",
                    "channel": channel,
                    "last_event_id": replay.last_id,
                }
            )
            await self._reset(channel, replay.last_id)

    async def unsubscribe(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        if not isinstance(channel, str) or channel not in self.subscriptions:
            await self.error("not_subscribed", "not subscribed to that channel")
            return
        del self.subscriptions[channel]
        await get_hub().leave(channel, self)
        await self.send_json({"type": "unsubscribed", "channel": channel})

    # --- live events ----------------------------------------------------------

    async def _drain(self) -> None:
        while True:
            message = await self.inbox.get()
            async with self.lock:
                await self.live_event(message)
                # Whatever queued meanwhile goes out under the same lock.
                while not self.inbox.empty():
                    await self.live_event(self.inbox.get_nowait())

    async def control(self, message: dict[str, Any]) -> None:
        if message.get("control") == "revoked":
            reason = message.get("message") or "the credentials were revoked"
            await self.send_json(
                {"type": "error", "code": "revoked", "message": reason}
            )
            await self.close(code=CLOSE_REVOKED, reason=reason)

    async def offer(self, message: dict[str, Any]) -> None:
        """Called by the hub for each live event. The common case (nothing
        queued, no subscribe in progress, the next id) is sent at once; anything
        else waits in the inbox for ``_drain``. Nothing here suspends before the
        send, so the checks still hold when it happens."""
        event = message["event"]
        if (
            not self.lock.locked()
            and self.inbox.empty()
            and "text" in message
            and self.subscriptions.get(event["channel"]) == event["id"] - 1
        ):
            self.subscriptions[event["channel"]] = event["id"]
            await self.send(text_data=message["text"])
        else:
            self.inbox.put_nowait(message)

    async def live_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        channel = event["channel"]
        position = self.subscriptions.get(channel)
        if position is None or event["id"] <= position:
            return  # unsubscribed meanwhile, or already delivered from history
        if message.get("probe"):
            pass  # the hub saw a newer id than was delivered: fill from history
        elif event["id"] == position + 1:
            self.subscriptions[channel] = event["id"]
            # Serialised once by the publisher for every subscriber.
            text = message.get("text")
            if text is not None:
                await self.send(text_data=text)
            else:
                await self.send_json({"type": "event", "event": event})
            return
        # An earlier event is still on its way: deliver the gap from history.
        replay = await get_history().aread(channel, position)
        if replay.complete:
            await self._deliver(channel, replay)
        else:
            self.subscriptions[channel] = replay.last_id
            await self._reset(channel, replay.last_id)

    async def _deliver(self, channel: str, replay: Replay) -> None:
        for event in replay.events:
            if event["id"] > self.subscriptions.get(channel, event["id"]):
                self.subscriptions[channel] = event["id"]
                await self.send_json({"type": "event", "event": event})

    async def _reset(self, channel: str, last_id: int) -> None:
        await self.send_json(
            {"type": "reset", "channel": channel, "last_event_id": last_id}
        )

    # --- heartbeat and slot refresh ------------------------------------------

    async def _heartbeat(self) -> None:
        refresh_every = slot_ttl() / 3
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + self.heartbeat_s
        next_refresh = loop.time() + refresh_every
        while True:
            await asyncio.sleep(max(0.0, min(next_ping, next_refresh) - loop.time()))
            now = loop.time()
            if now >= next_refresh:
                next_refresh = now + refresh_every
                try:
                    await get_limiter().refresh(self.slots, self.connection_id)
                except Exception:
                    logger.warning("could not refresh connection slots", exc_info=True)
            if now >= next_ping:
                next_ping = now + self.heartbeat_s
                if time.monotonic() - self.last_seen > 2 * self.heartbeat_s:
                    await self.close(
                        code=CLOSE_SILENT,
                        reason="no message for two heartbeat intervals",
                    )
                    return
                await self.send_json({"type": "ping", "server_time": _now_iso()})
