"""The one place where domain errors become DRF responses."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cadml.lib.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler plus our domain errors, rendered as ``{"detail", "code"}``."""
    if isinstance(exc, DomainError):
        return Response(
            {"detail": exc.message, "code": exc.code}, status=exc.status_code
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)
