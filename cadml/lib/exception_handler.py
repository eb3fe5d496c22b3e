"""The one place where domain errors become DRF responses, in DRF's own shape
(``{"detail", "code"}``). The versioning app's handler (the one in settings)
wraps this one and gives each API version its error format."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cadml.lib.errors import DomainError, TooManyRequests


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler plus our domain errors, rendered as ``{"detail", "code"}``."""
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        if getattr(exc, "errors", None):
            body["errors"] = exc.errors  # type: ignore[attr-defined]
        headers = (
            {"Retry-After": str(exc.retry_after)}
            if isinstance(exc, TooManyRequests)
            else None
        )
        return Response(body, status=exc.status_code, headers=headers)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)
