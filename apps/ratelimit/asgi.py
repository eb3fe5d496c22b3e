"""WebSocket limits, as ASGI middleware around the realtime stack.

- Handshakes per client IP (``CADML_RATELIMIT_WS_HANDSHAKE``, default 600/minute,
  since an office behind one NAT address reconnects all at once after a deploy),
  on the shared limiter (Redis, local fallback): a refused handshake is closed
  before the consumer runs (daphne answers 403), or answered 429 with
  ``Retry-After`` where the server offers the ``websocket.http.response`` extension.
- Messages per connection (``CADML_RATELIMIT_WS_MESSAGES``, default 120/minute):
  a connection lives in one process, so its window is process-local and exact:
  the 121st message within any 60 s closes the connection with code 4429.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

from django.conf import settings

from apps.ratelimit.client_ip import ip_identity, resolve_client_ip
from apps.ratelimit.services import aratelimit_hit

CLOSE_RATE_LIMITED = 4429

_clock = time.monotonic


class MessageWindow:
    """An exact sliding window for one connection: the times of its last
    ``limit`` messages. A message is refused when ``limit`` others arrived in the
    ``seconds`` before it (the shared limiter's weighted two-window estimate may
    let one more through, which is fine for HTTP but not for this contract)."""

    def __init__(self, *, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._times: deque[float] = deque(maxlen=limit)

    def admit(self, now: float) -> bool:
        if self.limit <= 0:
            return False
        if len(self._times) == self.limit and now - self._times[0] < self.seconds:
            return False
        self._times.append(now)
        return True


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def scope_client_ip(scope: dict[str, Any]) -> str:
    client = scope.get("client") or ("", 0)
    return resolve_client_ip(client[0] or "", _header(scope, b"x-forwarded-for"))


class WebSocketRateLimitMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket" or not settings.CADML_RATELIMIT_ENABLED:
            return await self.inner(scope, receive, send)
        decision = await aratelimit_hit(
            scope="ws-handshake",
            identifier=ip_identity(scope_client_ip(scope)),
            rates=settings.CADML_RATELIMIT_WS_HANDSHAKE,
        )
        if not decision.allowed:
            await receive()  # websocket.connect
            if "websocket.http.response" in scope.get("extensions", {}):
                headers = [
                    (k.lower().encode(), v.encode())
                    for k, v in decision.headers().items()
                ]
                await send(
                    {
                        "type": "websocket.http.response.start",
                        "status": 429,
                        "headers": headers,
                    }
                )
                await send({"type": "websocket.http.response.body", "body": b""})
            else:
                await send({"type": "websocket.close", "code": CLOSE_RATE_LIMITED})
            return None
        return await self.inner(scope, self._limited_receive(receive, send), send)

    @staticmethod
    def _limited_receive(receive: Any, send: Any) -> Any:
        from limits import parse

        item = parse(settings.CADML_RATELIMIT_WS_MESSAGES)
        window = MessageWindow(limit=int(item.amount), seconds=item.get_expiry())

        async def limited() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "websocket.receive" and not window.admit(_clock()):
                # Say why before closing: browsers do not show close reasons.
                error = {
                    "type": "error",
                    "code": "rate_limited",
                    "message": f"More than {window.limit} messages in "
                    f"{window.seconds:g} s on this connection; reconnect and send "
                    "fewer.",
                }
                await send({"type": "websocket.send", "text": json.dumps(error)})
                await send({"type": "websocket.close", "code": CLOSE_RATE_LIMITED})
                return {"type": "websocket.disconnect", "code": CLOSE_RATE_LIMITED}
            return message

        return limited
