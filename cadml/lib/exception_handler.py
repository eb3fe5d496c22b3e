"""The one place where domain errors become DRF responses."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cadml.lib.errors import DomainError, TooManyRequests


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler plus our domain errors, rendered as ``{"detail", "code"}``;
    in API versions with problem details (v2), as RFC 9457 problem documents."""
    response = _drf_response(exc, context)
    if response is not None:
        # Imported here: the versioning app depends on cadml.lib, not the reverse.
        from apps.versioning.problems import problem_for_version

        problem_for_version(response, exc, context.get("request"))
    return response


def _drf_response(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, TooManyRequests):
        # Like the rate limiter's 429s: a problem document in every version.
        from apps.versioning.problems import PROBLEM_CONTENT_TYPE, problem_from

        request = context.get("request")
        return Response(
            problem_from(
                {"detail": exc.message, "code": exc.code},
                exc.status_code,
                instance=request.path if request is not None else "",
                code=exc.code,
            ),
            status=exc.status_code,
            content_type=PROBLEM_CONTENT_TYPE,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        if getattr(exc, "errors", None):
            body["errors"] = exc.errors  # type: ignore[attr-defined]
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)
