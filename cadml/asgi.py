"""ASGI entry point: HTTP to Django; WebSocket ``/ws/v1/events`` through origin
validation and authentication to the realtime consumer."""

from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application

from cadml.lib.daphne_http import refuse_before_reading, skip_twisted_form_parsing
from cadml.telemetry import configure_tracing


def api_key_refusal(plaintext: str) -> str | None:
    """Why daphne should refuse this key before the body (None: read on).
    Runs in a Twisted pool thread; its stale connections are closed after."""
    from django.db import close_old_connections

    from apps.accounts.services import api_key_authenticate
    from cadml.lib.errors import AuthenticationError

    try:
        api_key_authenticate(plaintext=plaintext)
    except AuthenticationError as exc:
        return exc.message
    finally:
        close_old_connections()
    return None


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadml.settings")
# Tracing before Django builds its middleware chain (it inserts its own).
configure_tracing("web")
django_asgi_app = get_asgi_application()
# Under daphne, upload bodies go to Django unparsed (cadml/lib/daphne_http.py).
skip_twisted_form_parsing()
# ... and oversized or anonymous API bodies (or large ones with a wrong key) are
# refused before daphne buffers them.
refuse_before_reading(key_refusal=api_key_refusal)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.ratelimit.asgi import WebSocketRateLimitMiddleware  # noqa: E402
from apps.realtime.middleware import (  # noqa: E402
    RealtimeAuthMiddlewareStack,
    origin_validator,
)
from apps.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Handshakes per IP are limited before any auth work (apps/ratelimit/asgi.py).
        "websocket": WebSocketRateLimitMiddleware(
            origin_validator(
                RealtimeAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            )
        ),
    }
)

# Everything imported and built so far (modules, classes, URL patterns: about
# 150,000 objects) lives as long as the process. Frozen, it is left out of every
# later collection; a full collection walks only what connections and requests
# created. With 1,000 WebSockets open, each full collection used to pause the
# event loop, and every socket with it, about 55 ms longer.
gc.collect()
gc.freeze()
