"""DRF's exception handler (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``): the domain
errors of ``cadml.lib.exception_handler``, in each API version's error format
(RFC 9457 problem documents where the version has them)."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from apps.versioning.problems import (
    PROBLEM_CONTENT_TYPE,
    problem_for_version,
    problem_from,
)
from cadml.lib import exception_handler as base
from cadml.lib.errors import TooManyRequests


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = base.exception_handler(exc, context)
    if response is None:
        return None
    request = context.get("request")
    if isinstance(exc, TooManyRequests):
        # Like the rate limiter's 429s: a problem document in every version.
        response.data = problem_from(
            response.data,
            response.status_code,
            instance=request.path if request is not None else "",
            code=exc.code,
        )
        response.content_type = PROBLEM_CONTENT_TYPE
        return response
    problem_for_version(response, exc, request)
    return response
