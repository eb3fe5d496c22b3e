"""The WebSocket handshake: origin check, then who is calling.

Identity comes from the session cookie (same-origin browser) or from a one-time
``?ticket=`` issued over REST; nothing else in the query string is trusted. The
consumer refuses the handshake (403) when no principal resolved.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings

from apps.realtime.principal import Principal, principal_for_api_key, principal_for_user
from apps.realtime.services import ticket_consume


class BrowserOriginValidator(OriginValidator):
    """Refuse cross-origin *browser* handshakes (cross-site WebSocket hijacking).

    Browsers always send ``Origin`` on a WebSocket handshake; scripts and CAD
    plug-ins usually send none and authenticate with a ticket, which a foreign
    page cannot obtain. So a missing Origin passes and a foreign one does not.
    """

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def origin_validator(application: Any) -> BrowserOriginValidator:
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(application, allowed)


def _principal_from_ticket(ticket: str) -> Principal | None:
    claims = ticket_consume(ticket=ticket)
    if claims is None:
        return None
    if claims.get("api_key_id") is not None:
        return principal_for_api_key(api_key_id=claims["api_key_id"])
    return principal_for_user(
        user_id=claims["user_id"], tenant_id=claims.get("tenant_id")
    )


@database_sync_to_async
def resolve_principal(scope: dict[str, Any]) -> Principal | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tickets = query.get("ticket")
    if tickets is not None:
        # A presented ticket decides alone: a bad one is refused, not ignored in
        # favour of a cookie the client may not have meant to use.
        return _principal_from_ticket(tickets[0]) if len(tickets) == 1 else None
    user = scope.get("user")
    if user is not None and user.is_authenticated:
        return principal_for_user(user_id=user.pk)
    return None


class PrincipalMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope, principal=await resolve_principal(scope))
        return await super().__call__(scope, receive, send)


def RealtimeAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802  (like Channels')
    """Session cookie + user (Channels' stack), then the realtime principal."""
    return AuthMiddlewareStack(PrincipalMiddleware(inner))
