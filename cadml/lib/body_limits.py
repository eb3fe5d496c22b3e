"""Requests refused on their headers, before their body is read.

One rule for every server: a body larger than ``CADML_MAX_REQUEST_BODY_MB`` is
a 413, and a body sent to the API with no credential at all (no
``Authorization``, no ``X-API-Key``, no session cookie) is a 401. Under daphne
the rule runs as soon as the headers are in (``cadml/lib/daphne_http.py``), so a
client declaring a gigabyte gets its answer before it sends it; a chunked body
is cut off at the limit. ``BodyLimitMiddleware`` applies the same size rule
where Django sees the request first (WSGI, the test client).

An API key that is present is checked before the body too when the body is
large (``KEY_CHECK_ABOVE``) or chunked: daphne stops reading the connection
while a thread asks the project's key check (``cadml/asgi.py`` passes it in),
and answers 401 without reading the body when the key is wrong. A session
cookie is left to Django.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Every API endpoint needs a principal; the documentation pages under it take
# no body.
_AUTHENTICATED_PREFIX = "/api/"
# Smaller bodies cost less to read than to hold the connection for a check.
KEY_CHECK_ABOVE = 1024 * 1024


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    title: str
    detail: str
    challenge: str = ""

    def body(self, path: str) -> bytes:
        return json.dumps(
            {
                "type": f"urn:cadml:problem:{self.code}",
                "title": self.title,
                "status": self.status,
                "detail": self.detail,
                "instance": path,
                "code": self.code,
            }
        ).encode()

    def http_response(self, path: str) -> bytes:
        """The whole HTTP/1.1 response, for a server writing it to the socket."""
        body = self.body(path)
        lines = [
            f"HTTP/1.1 {self.status} {self.title}",
            f"Content-Type: {PROBLEM_CONTENT_TYPE}",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        if self.challenge:
            lines.append(f"WWW-Authenticate: {self.challenge}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def max_body_bytes() -> int:
    return int(settings.CADML_MAX_REQUEST_BODY_MB) * 1024 * 1024


def too_large(size: int | None = None) -> Refusal:
    limit_mb = int(settings.CADML_MAX_REQUEST_BODY_MB)
    said = f"The request body is {size / 1048576:.1f} MB; " if size else ""
    return Refusal(
        status=413,
        code="payload_too_large",
        title="Content Too Large",
        detail=f"{said}request bodies are limited to {limit_mb} MB "
        "(CADML_MAX_REQUEST_BODY_MB). Send smaller files, or several requests.",
    )


def bad_key(message: str) -> Refusal:
    return Refusal(
        status=401,
        code="not_authenticated",
        title="Unauthorized",
        detail=f"{message} (the body was not read).",
        challenge='Api-Key realm="cadml"',
    )


def presented_api_key(headers: Mapping[str, str]) -> str | None:
    """The API key in ``Authorization: Api-Key <key>`` or ``X-API-Key``."""
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "api-key":
        return value.strip()
    key = headers.get("x-api-key")
    return key.strip() if key is not None else None


def needs_key_check(*, path: str, content_length: int | None, chunked: bool) -> bool:
    return path.startswith(_AUTHENTICATED_PREFIX) and (
        chunked or (content_length or 0) > KEY_CHECK_ABOVE
    )


def _has_credential(headers: Mapping[str, str]) -> bool:
    if headers.get("authorization") or headers.get("x-api-key"):
        return True
    cookie = headers.get("cookie", "")
    name = settings.SESSION_COOKIE_NAME
    return any(
        part.strip().startswith(f"{name}=") and part.strip() != f"{name}="
        for part in cookie.split(";")
    )


def refusal_for(
    *,
    path: str,
    headers: Mapping[str, str],
    content_length: int | None,
    chunked: bool = False,
) -> Refusal | None:
    """The answer to a request judged on its headers alone, or None to read it.

    ``headers`` maps lower-case names to values; ``content_length`` is None when
    the request declares none (``chunked`` then says whether a body follows).
    """
    has_body = bool(content_length) or chunked
    if not has_body:
        return None
    if path.startswith(_AUTHENTICATED_PREFIX) and not _has_credential(headers):
        return Refusal(
            status=401,
            code="not_authenticated",
            title="Unauthorized",
            detail="Authentication credentials were not provided: send "
            "'Authorization: Api-Key <key>' (the body was not read).",
            challenge='Api-Key realm="cadml"',
        )
    if content_length is not None and content_length > max_body_bytes():
        return too_large(content_length)
    return None


class BodyLimitMiddleware:
    """The size rule for servers that hand Django the request before its body
    (WSGI, the test client): a declared length over the limit is a 413 before
    any parser reads the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > max_body_bytes():
            refusal = too_large(declared)
            return HttpResponse(
                refusal.body(request.path),
                status=refusal.status,
                content_type=PROBLEM_CONTENT_TYPE,
            )
        return self.get_response(request)
