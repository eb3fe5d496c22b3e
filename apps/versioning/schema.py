"""drf-spectacular hooks: one schema per version, in that version's shapes.

The preprocessing hook keeps only the versioned paths (the unversioned alias
would otherwise appear twice); the postprocessing hook wraps v2 success bodies in
the envelope and documents the problem+json errors every v2 operation can answer.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from django.urls import URLPattern
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from rest_framework.renderers import JSONRenderer

from apps.versioning import changes, features, registry

_ERRORS = {
    "400": "Bad input: the problem says what to fix",
    "401": "Missing or invalid credentials",
    "403": "The key or user lacks the scope",
    "404": "Not found (or another tenant's)",
    "406": "Not acceptable",
    "410": "The API version was retired",
    "415": "Unsupported media type",
    "429": "Rate limited",
}


class MethodDispatchEnumerator(EndpointEnumerator):
    """Sees through ``cadml.lib.routing.by_method``: each method of such a path
    is documented from the APIView that serves it."""

    def _get_api_endpoints(self, patterns: Any, prefix: str) -> list[tuple]:
        endpoints = super()._get_api_endpoints(patterns, prefix)
        for pattern in (self.patterns or []) if patterns is None else patterns:
            views = getattr(getattr(pattern, "callback", None), "views", None)
            if not isinstance(pattern, URLPattern) or views is None:
                continue
            path_regex = prefix + str(pattern.pattern)
            path = self.get_path_from_regex(path_regex)
            for method, view in views.items():
                if self.should_include_endpoint(path, view):
                    endpoints.append((path, path_regex, method.upper(), view))
        return endpoints


class VersionedSchemaGenerator(SchemaGenerator):
    endpoint_inspector_cls = MethodDispatchEnumerator


def keep_versioned_paths(endpoints: list[tuple], **_: Any) -> list[tuple]:
    """Each version's paths, less the endpoints that need a feature the version
    lacks (``requires_feature``: the middleware answers those with a 404)."""
    kept = []
    for endpoint in endpoints:
        path, view = endpoint[0], endpoint[3]
        version = next(
            (
                v
                for n, v in registry.versions().items()
                if path.startswith(f"/api/{n}/")
            ),
            None,
        )
        if version is None:
            continue
        needed = features.view_feature(view)
        if needed and not version.has(needed):
            continue
        kept.append(endpoint)
    return kept


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "RFC 9457 problem document",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": "string", "nullable": True},
            "trace_id": {"type": "string"},
            "code": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "pointer": {"type": "string"},
                        "detail": {"type": "string"},
                    },
                },
            },
        },
    }


def _meta_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["api_version", "request_id"],
        "properties": {
            "api_version": {"type": "string"},
            "request_id": {"type": "string", "nullable": True},
            "pagination": {
                "type": "object",
                "properties": {
                    "next": {"type": "string", "nullable": True},
                    "previous": {"type": "string", "nullable": True},
                    "page_size": {"type": "integer"},
                },
            },
        },
    }


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "DRF's error body: {detail, code}, or field -> messages",
        "additionalProperties": {},
    }


def _wrap_in_envelope(response: dict[str, Any]) -> None:
    # JSON only: an SVG preview or a CSV export is sent as it is.
    for media_type, media in (response.get("content") or {}).items():
        if not media_type.endswith("json"):
            continue
        inner = copy.deepcopy(media.get("schema", {}))
        media["schema"] = {
            "type": "object",
            "required": ["data", "meta"],
            "properties": {
                "data": inner,
                "meta": {"$ref": "#/components/schemas/Meta"},
            },
        }


def versioned_shapes(
    result: dict[str, Any], generator: Any, **_: Any
) -> dict[str, Any]:
    """Give the schema its version's number and shapes: v2 success bodies in the
    envelope and problem+json errors; v1 DRF's error bodies. Every operation may
    answer the common errors; a view declares the others (409, 413...) with a
    description only, and gets its version's error body here."""
    version = registry.get(getattr(generator, "api_version", None) or "")
    if version is None:
        return result
    result.setdefault("info", {})["version"] = version.number
    if version.deprecated_at or version.effective_status() in ("deprecated", "sunset"):
        result["info"]["x-deprecated"] = True
    components = result.setdefault("components", {}).setdefault("schemas", {})
    changes.transform_schema(components, version=version.name)
    envelope = version.has("envelope")
    if envelope:
        components["Problem"] = _problem_schema()
        components["Meta"] = _meta_schema()
        error_content = {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}
            }
        }
    else:
        components["Error"] = _error_schema()
        error_content = {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
        }
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            # An operation that answers CSV (?format=csv) renders its errors
            # as CSV too.
            content = copy.deepcopy(error_content)
            for status, response in responses.items():
                if status.startswith("2") and "text/csv" in (
                    response.get("content") or {}
                ):
                    content["text/csv"] = {"schema": {"type": "string"}}
            for status, response in responses.items():
                if status.startswith("2") and envelope:
                    _wrap_in_envelope(response)
                elif status[0] in "45" and not response.get("content"):
                    response["content"] = copy.deepcopy(content)
            for status, description in _ERRORS.items():
                responses.setdefault(
                    status,
                    {"description": description, "content": copy.deepcopy(content)},
                )
    return result


class VersionedAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema; a JSON-rendering view without a declared
    serializer still answers JSON, so its 2xx responses say so (with an open
    schema) instead of "no body" - the v2 hook then wraps it in the envelope."""

    def get_serializer_name(
        self, serializer: Any, direction: Literal["request", "response"]
    ) -> str:
        # Views nest their own InputSerializer / OutputSerializer (STYLE 6): name
        # the component after the view, so ApiKeyRotateApi.InputSerializer is
        # "ApiKeyRotateInput", not one of many colliding "Input"s.
        name = super().get_serializer_name(serializer, direction)
        outer, _, inner = type(serializer).__qualname__.rpartition(".")
        if outer and "<" not in outer:
            owner = outer.rsplit(".", 1)[-1].removesuffix("Api")
            return owner + name
        return name

    def _get_response_for_code(
        self,
        serializer: Any,
        status_code: Any,
        media_types: Any = None,
        direction: str = "response",
    ) -> dict[str, Any]:
        response = super()._get_response_for_code(
            serializer, status_code, media_types, direction
        )
        if (
            "content" not in response
            and direction == "response"
            and str(status_code).startswith("2")
            and str(status_code) != "204"
            and any(issubclass(r, JSONRenderer) for r in self.view.renderer_classes)
        ):
            response["content"] = {"application/json": {"schema": {}}}
            response["description"] = ""
        return response


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`",
        }


class TenantSessionScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.TenantSessionAuthentication"
    name = "Session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
