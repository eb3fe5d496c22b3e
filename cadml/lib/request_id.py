"""Request ids: echo a well-formed client id or mint one; expose it in a ContextVar."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

current_request_id: ContextVar[str | None] = ContextVar(
    "cadml_request_id", default=None
)

# Letters, digits, dash, underscore, dot; 8-128 long. Anything else is replaced, so
# a client cannot smuggle header or log injection through it.
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


def request_id_from(value: str | None) -> str:
    if value and _WELL_FORMED.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get("X-Request-ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response
