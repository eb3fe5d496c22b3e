"""Resolve the API version of every ``/api/`` request and answer for it.

Placed last in MIDDLEWARE (after authentication, rate limiting and audit): it
sets ``request.api_version``, refuses unknown or contradictory versions (400)
and sunset ones (410 with a link to the successor), enforces per-version
features, adds ``API-Version`` and the deprecation headers to every answer, and
counts the call per version and tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from apps.versioning import features, registry, usage
from apps.versioning.negotiation import (
    API_PREFIX,
    VersionError,
    path_version,
    resolve_version,
)
from apps.versioning.notices import notify_deprecated_use
from apps.versioning.problems import PROBLEM_CONTENT_TYPE, problem_from


def error_response(
    version: str | None,
    status: int,
    detail: str,
    *,
    code: str,
    path: str,
    **extra: Any,
) -> HttpResponse:
    """An error before any view ran, in the version's error shape: DRF's
    ``{"detail", "code"}`` for v1, a problem document otherwise."""
    problem_version = registry.get(version) if version else registry.current()
    if problem_version is not None and problem_version.has("problem_details"):
        body = problem_from(
            {"detail": detail}, status, instance=path, code=code, **extra
        )
        return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    return JsonResponse({"detail": detail, "code": code, **extra}, status=status)


class VersioningMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        try:
            name = resolve_version(request)
        except VersionError as exc:
            in_path = path_version(request.path)
            known = registry.get(in_path or "")
            response = error_response(
                known.name if known else None,
                exc.status_code,
                exc.detail,
                code=exc.code,
                path=request.path,
                supported_versions=registry.supported_names(),
            )
            response["API-Version"] = (known or registry.current()).number
            return response
        version = registry.versions()[name]
        request.api_version = name  # type: ignore[attr-defined]
        status = version.effective_status(timezone.now())
        if status == "sunset":
            response = self._gone(request, version)
        else:
            response = self.get_response(request)
        for header, value in version.headers:
            response[header] = value
        if status == "sunset" and version.successor:
            successor = registry.get(version.successor)
            if successor and successor.docs:
                response["Link"] = (
                    f"{response['Link']}, " if response.has_header("Link") else ""
                ) + f'<{successor.docs}>; rel="successor-version"'
        tenant = getattr(request, "tenant", None)
        usage.record_call(
            tenant_id=tenant.pk if tenant else None,
            tenant_slug=tenant.slug if tenant else None,
            version=name,
        )
        if status == "deprecated" and tenant is not None:
            notify_deprecated_use(tenant=tenant, version=version, status=status)
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        name = getattr(request, "api_version", None)
        if name is None:
            return None
        version = registry.versions()[name]
        needed = features.view_feature(view_func)
        if needed and not version.has(needed):
            return error_response(
                name,
                404,
                f"{request.path} is not part of API {name}; it is available in "
                f"{', '.join(features.versions_with(needed)) or 'no version'}",
                code="not_in_version",
                path=request.path,
            )
        for parameter, feature in features.PARAMETERS.items():
            if parameter in request.GET and not version.has(feature):
                return error_response(
                    name,
                    400,
                    f"?{parameter}= is not supported in API {name}; use "
                    f"{', '.join(features.versions_with(feature)) or 'no version'}",
                    code="unsupported_parameter",
                    path=request.path,
                )
        if "fields" in request.GET and request.method not in ("GET", "HEAD"):
            return error_response(
                name,
                400,
                "?fields= selects fields of GET responses only; drop it from "
                f"{request.method} requests",
                code="unsupported_parameter",
                path=request.path,
            )
        return None

    @staticmethod
    def _gone(request: HttpRequest, version: registry.ApiVersion) -> HttpResponse:
        successor = version.successor or registry.current().name
        when = version.sunset_at.isoformat() if version.sunset_at else "earlier"
        return error_response(
            version.name,
            410,
            f"API {version.name} was retired ({when}); use /api/{successor}/ "
            f"instead" + (f", see {version.docs}" if version.docs else ""),
            code="version_sunset",
            path=request.path,
            successor=successor,
        )
