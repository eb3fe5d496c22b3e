"""WebSocket limits, as ASGI middleware around the realtime stack.

- Handshakes per client IP (``CADML_RATELIMIT_WS_HANDSHAKE``, default 600/minute,
  since an office behind one NAT address reconnects all at once after a deploy),
  on the shared limiter (Redis, local fallback): a refused handshake is closed
  before the consumer runs (daphne answers 403), or answered 429 with
  ``Retry-After`` where the server offers the ``websocket.http.response`` extension.
- Messages per connection (``CADML_RATELIMIT_WS_MESSAGES``, default 120/minute):
  a connection lives in one process, so its counter is process-local. A client
  over the limit is disconnected with close code 4429.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings

from apps.ratelimit.client_ip import ip_identity, resolve_client_ip
from apps.ratelimit.engine import LocalEngine, Slot
from apps.ratelimit.services import aratelimit_hit

CLOSE_RATE_LIMITED = 4429

# Per-connection message counters: bounded like the fallback limiter.
_connections = LocalEngine(max_keys=50_000, fraction=1.0)


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
        if scope["type"] != "websocket" or not getattr(
            settings, "CADML_RATELIMIT_ENABLED", True
        ):
            return await self.inner(scope, receive, send)
        decision = await aratelimit_hit(
            scope="ws-handshake",
            identifier=ip_identity(scope_client_ip(scope)),
            rates=getattr(settings, "CADML_RATELIMIT_WS_HANDSHAKE", "600/minute"),
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

        item = parse(getattr(settings, "CADML_RATELIMIT_WS_MESSAGES", "120/minute"))
        name = f"ws-message/{uuid.uuid4().hex}"
        previous_key, current_key = LocalEngine.key(name)
        slot = Slot(
            previous_key=previous_key,
            current_key=current_key,
            limit=int(item.amount),
            seconds=int(item.get_expiry()),
            enforced=True,
        )

        async def limited() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "websocket.receive":
                allowed, _ = _connections.acquire([slot], 1)
                if not allowed:
                    # Say why before closing: browsers do not show close reasons.
                    error = {
                        "type": "error",
                        "code": "rate_limited",
                        "message": f"More than {slot.limit} messages in "
                        f"{slot.seconds} s on this connection; reconnect and send "
                        "fewer.",
                    }
                    await send({"type": "websocket.send", "text": json.dumps(error)})
                    await send({"type": "websocket.close", "code": CLOSE_RATE_LIMITED})
                    return {"type": "websocket.disconnect", "code": CLOSE_RATE_LIMITED}
            return message

        return limited
