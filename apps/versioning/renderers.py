"""The one place where a body takes its version's shape.

Success bodies: v2 wraps them in ``{"data", "meta"}`` (with ``?fields=``
selection and the paginator's ``meta.pagination``); v1 gets the current body
turned back by the version changes (``apps.versioning.changes``). Errors: v2
bodies were made problem documents by the exception handler; a 4xx a view
returned itself is converted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import JSONRenderer

from apps.versioning import changes, registry
from apps.versioning.fields import UnknownFields, select_fields
from apps.versioning.problems import (
    PROBLEM_CONTENT_TYPE,
    problem_from,
    request_version,
)
from cadml.lib.request_id import current_request_id


def _version(request: Any) -> registry.ApiVersion | None:
    name = request_version(request)
    return registry.get(name) if name else None


def shape(data: Any, *, request: Any, response: Any, as_json: bool = True) -> Any:
    """``data`` in the shape of the request's API version."""
    version = _version(request)
    if version is None or response is None:
        return data
    status = response.status_code
    if status >= 400:
        if version.has("problem_details"):
            data = problem_from(data, status, instance=request.path)
            if as_json:
                response["Content-Type"] = PROBLEM_CONTENT_TYPE
        return data
    if not version.has("envelope"):
        match = getattr(request, "resolver_match", None)
        return changes.transform(
            data, version=version.name, url_name=match.url_name if match else None
        )
    if data is None and status == 204:
        return None
    raw_fields = request.query_params.get("fields") if request.method == "GET" else None
    if raw_fields is not None and version.has("fields_selection"):
        try:
            data = select_fields(data, raw_fields)
        except UnknownFields as exc:
            response.status_code = 400
            if as_json:
                response["Content-Type"] = PROBLEM_CONTENT_TYPE
            detail = "?fields= names fields that do not exist: " + ", ".join(
                exc.unknown
            )
            if exc.available:
                detail += f"; available: {', '.join(exc.available)}"
            return problem_from(
                {"detail": detail},
                400,
                instance=request.path,
                code="unknown_fields",
                unknown_fields=exc.unknown,
                errors=[{"pointer": "/fields", "detail": detail}],
            )
    meta: dict[str, Any] = {
        "api_version": version.number,
        "request_id": current_request_id.get() or getattr(request, "request_id", None),
    }
    pagination = getattr(response, "pagination", None)
    if pagination is not None:
        meta["pagination"] = pagination
    return {"data": data, "meta": meta}


class VersionedJSONRenderer(JSONRenderer):
    """JSON in the shape of ``request.version`` (also what the browsable API shows)."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        context = renderer_context or {}
        request = context.get("request")
        response = context.get("response")
        if (
            request is not None
            and response is not None
            and not getattr(response, "_versioned", False)
        ):
            # The browsable API renders the body twice (raw and pretty): once only.
            data = shape(
                data,
                request=request,
                response=response,
                # Not when the browsable API (HTML) is what the client gets.
                as_json=isinstance(
                    getattr(response, "accepted_renderer", self), JSONRenderer
                ),
            )
            response._versioned = True
            response._versioned_data = data
        elif response is not None and getattr(response, "_versioned", False):
            data = response._versioned_data
        return super().render(data, accepted_media_type, context)
