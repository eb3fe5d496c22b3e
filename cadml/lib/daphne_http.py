"""daphne's HTTP requests: no Twisted form parsing, refusals before the body.

``refuse_before_reading`` (below) answers requests that ``cadml.lib.body_limits``
refuses as soon as their headers are in.


Twisted's ``Request.requestReceived`` parses every multipart/form-data and
url-encoded POST body into ``request.args`` with the ``email`` package, on the
reactor thread, before daphne hands the raw body to Django, which parses it
again and is the only one that reads it. On a DXF upload that was about 40 % of
daphne's CPU, and a large upload stalled every other connection of the process
while the reactor parsed it (and held a second copy of it in memory). Twisted
24.11+ can skip the parse (``parsePOSTFormSubmission``); daphne 4.2 does not
ask, so its request class is made to ask here. Nothing in daphne reads
``request.args`` (``daphne/http_protocol.py`` builds the ASGI scope from the
path, headers and raw body).
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from typing import Any


def skip_twisted_form_parsing() -> bool:
    """Patch daphne's ``WebRequest`` once; False when this Twisted has no such
    option (nothing to do)."""
    from daphne.http_protocol import WebRequest
    from twisted.web.http import Request

    if getattr(WebRequest, "_cadml_skips_form_parsing", False):
        return True
    if "parsePOSTFormSubmission" not in inspect.signature(Request.__init__).parameters:
        return False
    original = WebRequest.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original(self, *args, **kwargs)

    WebRequest.__init__ = __init__
    WebRequest._cadml_skips_form_parsing = True
    return True


_key_refusal: Callable[[str], str | None] | None = None


def refuse_before_reading(
    key_refusal: Callable[[str], str | None] | None = None,
) -> None:
    """Patch daphne's ``WebRequest`` once so that requests are judged on their
    headers (``cadml.lib.body_limits``) before the body is buffered.

    ``key_refusal(plaintext)`` returns why an API key is refused, or None; it
    runs in a thread (it may query the database) while the connection is not
    read, for large or chunked API bodies.

    Twisted calls ``gotLength`` when the headers are in and before any body
    byte; a refused request is answered there, its body discarded as it
    arrives, and its connection closed. A chunked body is counted as it comes
    and cut off at the limit, so daphne never holds more than the limit for one
    request.
    """
    from daphne.http_protocol import WebRequest
    from twisted.web.http import Request

    global _key_refusal
    _key_refusal = key_refusal
    if getattr(WebRequest, "_cadml_refuses_early", False):
        return
    from cadml.lib import body_limits

    def gotLength(self: Any, length: int | None) -> None:
        self._cadml_refused = False
        self._cadml_checking = False
        self._cadml_waiting = []
        self._cadml_received = 0
        self._cadml_limit = body_limits.max_body_bytes()
        headers = {
            name.decode("latin-1").lower(): values[-1].decode("latin-1")
            for name, values in self.requestHeaders.getAllRawHeaders()
        }
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        refusal = body_limits.refusal_for(
            path=_request_path(self),
            headers=headers,
            content_length=length,
            chunked=chunked,
        )
        Request.gotLength(self, length)
        if refusal is not None:
            _refuse(self, refusal)
            return
        key = body_limits.presented_api_key(headers)
        if (
            _key_refusal is not None
            and key is not None
            and body_limits.needs_key_check(
                path=_request_path(self), content_length=length, chunked=chunked
            )
        ):
            _check_key(self, key, _key_refusal)

    def handleContentChunk(self: Any, data: bytes) -> None:
        if self._cadml_refused:
            return  # read off the socket and dropped
        self._cadml_received += len(data)
        if self._cadml_received > self._cadml_limit:
            _refuse(self, body_limits.too_large())
            return
        Request.handleContentChunk(self, data)

    def requestReceived(self: Any, command: bytes, path: bytes, version: bytes) -> None:
        if self._cadml_refused:
            return  # answered already; the application never sees it
        if self._cadml_checking:
            # A small body arrived whole while its key is checked: wait.
            self._cadml_waiting.append(
                lambda: requestReceived(self, command, path, version)
            )
            return
        Request.requestReceived(self, command, path, version)

    WebRequest.gotLength = gotLength
    WebRequest.handleContentChunk = handleContentChunk
    WebRequest.requestReceived = requestReceived
    WebRequest._cadml_refuses_early = True


def _check_key(
    request: Any, plaintext: str, key_refusal: Callable[[str], str | None]
) -> None:
    """Stop reading the connection, check the key in a thread, then refuse
    (401) or read on. A check that fails leaves the decision to Django."""
    from twisted.internet import threads

    from cadml.lib import body_limits

    transport = request.channel.transport
    transport.pauseProducing()
    request._cadml_checking = True

    def done(message: str | None) -> None:
        request._cadml_checking = False
        if message is not None and not request._cadml_refused:
            _refuse(request, body_limits.bad_key(message))
        if getattr(transport, "connected", False):
            transport.resumeProducing()
        waiting, request._cadml_waiting = request._cadml_waiting, []
        for resume in waiting:
            resume()

    def failed(_: Any) -> None:
        done(None)

    threads.deferToThread(key_refusal, plaintext).addCallbacks(done, failed)


def _request_path(request: Any) -> str:
    # Before the body, only the channel knows the request line (Twisted sets
    # the request's own ``path`` in ``requestReceived``).
    raw = getattr(request.channel, "_path", b"") or b""
    return raw.split(b"?", 1)[0].decode("latin-1")


def _refuse(request: Any, refusal: Any) -> None:
    """Answer now and stop buffering; close once the client has had the
    answer (a client still sending is cut off after the linger time)."""
    from django.conf import settings
    from twisted.internet import reactor

    request._cadml_refused = True
    # No "100 Continue" for a request that is already answered.
    request.requestHeaders.removeHeader(b"expect")
    content = getattr(request, "content", None)
    if content is not None:
        content.close()
    request.content = io.BytesIO()
    transport = request.channel.transport
    if transport is None:
        return
    transport.write(refusal.http_response(_request_path(request)))
    # Half-close rather than close: closing a socket with unread body bytes
    # sends a reset, which can destroy the answer before the client reads it.
    # What the client still sends is read and dropped (handleContentChunk).
    try:
        transport.loseWriteConnection()
    except AttributeError:
        transport.loseConnection()
    linger = float(settings.CADML_REFUSED_LINGER_S)
    # The stubs type the reactor as the zope interface, whose methods lack self.
    reactor.callLater(linger, _abort, transport)  # type: ignore[arg-type]


def _abort(transport: Any) -> None:
    if getattr(transport, "connected", False):
        transport.abortConnection()
