"""HTTP rate limiting, right after PrincipalMiddleware has resolved the caller.

The tier is the tenant's plan from its database row (``request.tenant``); a
request whose API key failed to authenticate counts against its IP under the
``anonymous`` policy before any view runs. Every limited response carries the
``RateLimit-Policy``/``RateLimit`` and ``X-RateLimit-*`` headers; a refused one is
a 429 problem document with ``Retry-After``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from apps.ratelimit.policies import configured_cost, default_cost
from apps.ratelimit.services import (
    Decision,
    ratelimit_audit,
    ratelimit_check,
    request_identity,
)
from cadml.lib.request_id import current_request_id


@lru_cache(maxsize=4)
def _exempt_pattern(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def is_exempt(path: str) -> bool:
    patterns = tuple(settings.CADML_RATELIMIT_EXEMPT_PATHS)
    static = "/" + settings.STATIC_URL.lstrip("/") if settings.STATIC_URL else None
    if static and static != "/" and path.startswith(static):
        return True
    return bool(patterns) and _exempt_pattern(patterns).search(path) is not None


def request_cost(request: HttpRequest) -> int:
    """``CADML_RATELIMIT_COSTS[url name]``: an int, a ``{"POST": 5, "*": 1}`` dict
    or the dotted path of a ``callable(request) -> int``; else 1 for reads and 2
    for writes."""
    costs = settings.CADML_RATELIMIT_COSTS
    if costs:
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            match = None
        if match is not None:
            spec = configured_cost((match.view_name, match.url_name or ""))
            if isinstance(spec, dict):
                spec = spec.get(request.method or "GET", spec.get("*"))
            if isinstance(spec, str):
                spec = import_string(spec)(request)
            if spec is not None:
                return max(0, int(spec))
    return default_cost(request.method or "GET")


def quota_exceeded_response(request: HttpRequest, decision: Decision) -> HttpResponse:
    blocked = decision.blocked_by
    retry = decision.retry_after
    scope = blocked.window.scope if blocked else None
    body: dict[str, Any] = {
        "type": settings.CADML_RATELIMIT_PROBLEM_TYPE,
        "title": "Too many requests",
        "status": 429,
        "detail": (
            f"{scope} limit of {blocked.row.limit} per {blocked.window.seconds}s "
            f"({blocked.window.name}) exceeded; this request costs {decision.cost}, "
            f"retry in {retry}s"
            if blocked
            else f"rate limit exceeded; retry in {retry}s"
        ),
        "instance": request.get_full_path(),
        "scope": scope,
        "policy": blocked.window.name if blocked else None,
        "cost": decision.cost,
        "retry_after": retry,
    }
    request_id = getattr(request, "request_id", None) or current_request_id.get(None)
    if request_id:
        body["request_id"] = request_id
    response = HttpResponse(
        json.dumps(body), status=429, content_type="application/problem+json"
    )
    for name, value in decision.headers().items():
        response[name] = value
    return response


class RateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.CADML_RATELIMIT_ENABLED or is_exempt(request.path_info):
            return self.get_response(request)
        identity = request_identity(request)
        decision = ratelimit_check(
            plan=identity.plan,
            ip=identity.ip,
            key=identity.key,
            tenant=identity.tenant,
            cost=request_cost(request),
        )
        request.ratelimit = decision  # type: ignore[attr-defined]
        if not decision.allowed or decision.shadow_exceeded:
            ratelimit_audit(decision=decision, request=request)
        if not decision.allowed:
            return quota_exceeded_response(request, decision)
        response = self.get_response(request)
        for name, value in decision.headers().items():
            response[name] = value
        return response
