"""Publishing events, WebSocket tickets and staff notifications.

``publish()`` is the one way any code sends a realtime event: views, Celery tasks
and gRPC servicers call it (sync); consumers and other async code await
``apublish()``. Both give the event its per-channel id, append it to the
channel's bounded history, then send it to every subscriber in every process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Mapping
from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from opentelemetry import trace

from apps.realtime.channels import channel_parse, group_name
from apps.realtime.history import get_history
from cadml import metrics, telemetry
from cadml.lib.cache import CACHE_ERRORS
from cadml.lib.errors import InvalidInput, ServiceUnavailable

logger = logging.getLogger(__name__)

EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")
MAX_EVENT_TYPE_LENGTH = 64


def _trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def _body(channel: str, type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and build everything of an event but its id."""
    channel_parse(channel)
    if (
        not isinstance(type, str)
        or len(type) > MAX_EVENT_TYPE_LENGTH
        or not EVENT_TYPE.fullmatch(type)
    ):
        raise InvalidInput(
            "event type must be dotted lower-case words like 'batch.progress'"
        )
    if not isinstance(data, Mapping):
        raise InvalidInput("event data must be a JSON object")
    try:
        encoded = json.dumps(dict(data), separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"event data must be JSON-serialisable: {exc}") from None
    limit = int(settings.CADML_WS_MAX_MESSAGE_BYTES)
    if len(encoded.encode()) > limit:
        raise InvalidInput(f"event data must encode to at most {limit} bytes")
    body: dict[str, Any] = {
        "type": type,
        "data": json.loads(encoded),
        "ts": timezone.now().isoformat().replace("+00:00", "Z"),
    }
    trace_id = _trace_id()
    if trace_id:
        body["trace_id"] = trace_id
    return body


def _message(channel: str, event_id: int, body: dict[str, Any]) -> dict[str, Any]:
    event = {"id": event_id, "channel": channel, **body}
    text = json.dumps({"type": "event", "event": event}, separators=(",", ":"))
    return {"type": "realtime.event", "event": event, "text": text}


_SEND_TIMEOUT_S = 10
_consumer_loop: asyncio.AbstractEventLoop | None = None
_runner: tuple[int, asyncio.AbstractEventLoop] | None = None
_runner_lock = threading.Lock()


def consumer_loop_started(loop: asyncio.AbstractEventLoop) -> None:
    """Consumers report the server's event loop: the in-memory channel layer's
    queues belong to it, so sync code must send through that loop."""
    global _consumer_loop
    _consumer_loop = loop


def _runner_loop() -> asyncio.AbstractEventLoop:
    """One event loop thread per process for sync publishers (Celery tasks,
    gRPC handlers): it keeps its Redis connections, where ``async_to_sync`` in
    a plain thread would open a new loop, and new connections, for every call.
    Recreated after a fork (Celery's prefork pool)."""
    global _runner
    with _runner_lock:
        if _runner is None or _runner[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(
                target=loop.run_forever, name="realtime-publish", daemon=True
            ).start()
            _runner = (os.getpid(), loop)
        return _runner[1]


def _send_sync(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("publish() called from async code: await apublish()")
    loop = _consumer_loop if isinstance(layer, InMemoryChannelLayer) else None
    if loop is None or not loop.is_running():
        loop = _runner_loop()
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
    future.result(timeout=_SEND_TIMEOUT_S)


def publish(channel: str, type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Send an event to ``channel`` from sync code; returns the event as sent.

    Raises ``InvalidInput`` for a malformed channel, type or payload. Inside a
    transaction, prefer ``publish_on_commit`` so that nobody hears of rows that
    are rolled back.
    """
    with telemetry.span(
        "realtime.publish", channel_kind=channel.split(":")[0], type=type
    ):
        body = _body(channel, type, data)
        event_id = get_history().append(channel, body)
        message = _message(channel, event_id, body)
        _send_sync(group_name(channel), message)
    metrics.ws_events.labels(type, "published").inc()
    return message["event"]


async def apublish(channel: str, type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """``publish`` for async code."""
    with telemetry.span(
        "realtime.publish", channel_kind=channel.split(":")[0], type=type
    ):
        body = _body(channel, type, data)
        event_id = await get_history().aappend(channel, body)
        message = _message(channel, event_id, body)
        layer = get_channel_layer()
        if layer is not None:
            await layer.group_send(group_name(channel), message)
    metrics.ws_events.labels(type, "published").inc()
    return message["event"]


def publish_on_commit(channel: str, type: str, data: Mapping[str, Any]) -> None:
    """Publish once the current transaction commits (at once outside one).

    A failure to publish (Redis down) is logged, never raised: the write it
    reports has already happened and must not turn into an error response.
    """
    _body(channel, type, data)  # bad input is the caller's bug: raise it now

    def send() -> None:
        publish(channel, type, data)

    transaction.on_commit(send, robust=True)


# --- closing the sockets of revoked credentials ------------------------------


def key_control_channel(api_key_id: int) -> str:
    """Internal: every socket opened with this key listens here (never a
    subscribable channel: ``channel_parse`` refuses the leading underscore)."""
    return f"_key:{api_key_id}"


def user_control_channel(user_id: int) -> str:
    """Internal: every socket of this user (session or user ticket) listens here."""
    return f"_user:{user_id}"


def _connections_close_on_commit(channel: str, reason: str) -> None:
    message = {
        "type": "realtime.control",
        "control": "revoked",
        "message": reason,
        "event": {"channel": channel},
    }
    transaction.on_commit(lambda: _send_sync(group_name(channel), message), robust=True)


def api_key_connections_close_on_commit(*, api_key_id: int) -> None:
    """Once the revocation commits, close every open socket of this key, in
    every process (close code 4401). Failures are logged: the key is revoked
    either way, and its sockets cannot reconnect."""
    _connections_close_on_commit(
        key_control_channel(api_key_id), "the API key of this connection was revoked"
    )


def user_connections_close_on_commit(*, user_id: int, reason: str) -> None:
    """Once the change commits, close every open socket of this user, in every
    process (an ``error {code: "revoked"}``, then 4401). Permissions are checked
    at subscribe time, so a socket opened with rights the user has lost is closed
    rather than trimmed: the client reconnects with what the user has now (or
    is refused)."""
    _connections_close_on_commit(user_control_channel(user_id), reason)


# --- tickets ---------------------------------------------------------------


def _ticket_key(ticket: str) -> str:
    # Only a hash is stored, so a cache dump holds no usable ticket.
    return "realtime:ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


def ticket_create(
    *, user_id: int | None, api_key_id: int | None, tenant_id: int | None
) -> tuple[str, int]:
    """A one-time ticket for the WebSocket handshake; returns (ticket, ttl)."""
    if user_id is None and api_key_id is None:
        raise InvalidInput("a ticket needs a user or an API key")
    ticket = secrets.token_urlsafe(32)
    ttl = int(settings.CADML_WS_TICKET_TTL_S)
    try:
        cache.set(
            _ticket_key(ticket),
            {"user_id": user_id, "api_key_id": api_key_id, "tenant_id": tenant_id},
            ttl,
        )
    except CACHE_ERRORS:
        # Any process may take the handshake: a ticket kept only here would fail.
        raise ServiceUnavailable(
            "WebSocket tickets are unavailable while the shared cache is down; "
            "retry in a few seconds.",
            code="cache_unavailable",
        ) from None
    return ticket, ttl


def ticket_consume(*, ticket: str) -> dict[str, Any] | None:
    """The identity a ticket was issued for, at most once: of two concurrent
    consumers only the one whose delete removed the key gets it."""
    if not ticket or len(ticket) > 128:
        return None
    key = _ticket_key(ticket)
    try:
        claims = cache.get(key)
        if claims is None or not cache.delete(key):
            return None
    except CACHE_ERRORS:
        return None
    return claims


# --- staff notifications -----------------------------------------------------


def notification_send(*, channel: str, type: str, data: Mapping[str, Any]) -> dict:
    """A staff message to a tenant or a topic."""
    kind, _ = channel_parse(channel)
    if kind not in ("tenant", "topic"):
        raise InvalidInput("notifications go to a tenant or a topic")
    return publish(channel, type, data)
