"""drf-spectacular hooks: one schema per version, in that version's shapes.

The preprocessing hook keeps only the versioned paths (the unversioned alias
would otherwise appear twice); the postprocessing hook wraps v2 success bodies in
the envelope and documents the problem+json errors every v2 operation can answer.
"""

from __future__ import annotations

import copy
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework.renderers import JSONRenderer

from apps.versioning import registry

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


def keep_versioned_paths(endpoints: list[tuple], **_: Any) -> list[tuple]:
    prefixes = tuple(f"/api/{name}/" for name in registry.versions())
    return [e for e in endpoints if e[0].startswith(prefixes)]


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


def versioned_shapes(
    result: dict[str, Any], generator: Any, **_: Any
) -> dict[str, Any]:
    version = registry.get(getattr(generator, "api_version", None) or "")
    if version is None:
        return result
    result.setdefault("info", {})["version"] = version.number
    if version.deprecated_at or version.effective_status() in ("deprecated", "sunset"):
        result["info"]["x-deprecated"] = True
    if not version.has("envelope"):
        _v1_analysis(result)
        return result
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = _problem_schema()
    components["Meta"] = _meta_schema()
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, response in responses.items():
                if not status.startswith("2"):
                    continue
                for media in (response.get("content") or {}).values():
                    inner = copy.deepcopy(media.get("schema", {}))
                    media["schema"] = {
                        "type": "object",
                        "required": ["data", "meta"],
                        "properties": {
                            "data": inner,
                            "meta": {"$ref": "#/components/schemas/Meta"},
                        },
                    }
            for status, description in _ERRORS.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {
                            "application/problem+json": {"schema": problem_ref}
                        },
                    },
                )
    return result


def _v1_analysis(result: dict[str, Any]) -> None:
    """v1 analyses, as ``changes`` turns them back: bare title-block values and
    none of the v2 annotation sections."""
    from apps.versioning.changes import DrawingAnnotationsAdded

    schemas = result.get("components", {}).get("schemas", {})
    analysis = schemas.get("AnalysisOutput")
    if not isinstance(analysis, dict):
        return
    props = analysis.get("properties", {})
    for name in DrawingAnnotationsAdded.sections:
        props.pop(name, None)
    if "required" in analysis:
        analysis["required"] = [
            r for r in analysis["required"] if r not in DrawingAnnotationsAdded.sections
        ]
    props["title_block"] = {
        "type": "object",
        "readOnly": True,
        "additionalProperties": {"type": "string", "nullable": True},
    }
    props["dimensions"] = {"type": "object", "readOnly": True}


class VersionedAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema; a JSON-rendering view without a declared
    serializer still answers JSON, so its 2xx responses say so (with an open
    schema) instead of "no body" - the v2 hook then wraps it in the envelope."""

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
