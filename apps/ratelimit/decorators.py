"""Plain per-view limits with django-ratelimit, where a decorator is the right tool:
API key creation, realtime tickets, admin login.

These sit on top of the plan limits of the middleware and guard operations that
are sensitive rather than expensive (minting credentials, guessing passwords).
Rates are ``CADML_RATELIMIT_VIEW_RATES[group]`` (defaults below). A refused call is
a 429 with ``Retry-After``: DRF's ``Throttled`` in API views, a plain response in
Django views. If the cache behind django-ratelimit fails, the call is let through
(logged): the middleware's limits still apply, and an outage should not lock
everyone out of key rotation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage
from rest_framework.exceptions import Throttled
from rest_framework.request import Request

from apps.ratelimit.client_ip import client_ip, ip_identity
from apps.ratelimit.metrics import DECISIONS

logger = logging.getLogger("cadml.ratelimit")

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_VIEW_RATES = {
    "api-key-create": "30/h",
    "realtime-ticket": "60/m",
    "admin-login": "10/m",
}


def view_rate(group: str) -> str | None:
    rates = {
        **DEFAULT_VIEW_RATES,
        **settings.CADML_RATELIMIT_VIEW_RATES,
    }
    return rates.get(group)


def _namespace() -> str:
    return settings.CADML_RATELIMIT_NAMESPACE


def key_ip(group: str, request: Any) -> str:
    return f"{_namespace()}:ip:{ip_identity(client_ip(request))}"


def key_tenant(group: str, request: Any) -> str:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return key_ip(group, request)
    return f"{_namespace()}:t{tenant.pk}"


def key_principal(group: str, request: Any) -> str:
    api_key = getattr(request, "api_key", None) or getattr(
        getattr(request, "_request", None), "api_key", None
    )
    if api_key is not None:
        return f"{_namespace()}:k{api_key.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"{_namespace()}:u{user.pk}"
    return key_ip(group, request)


KEYS: dict[str, Callable[[str, Any], str]] = {
    "ip": key_ip,
    "tenant": key_tenant,
    "principal": key_principal,
}


def _find_request(args: tuple[Any, ...]) -> Any:
    for arg in args[:2]:  # (request, ...) or (self, request, ...)
        if isinstance(arg, (HttpRequest, Request)):
            return arg
    raise TypeError("view_ratelimit: no request among the view's arguments")


def view_ratelimit(
    group: str, *, key: str = "principal", method: str | list[str] = "POST"
) -> Callable[[F], F]:
    """Limit a view (function, or an APIView method) to
    ``CADML_RATELIMIT_VIEW_RATES[group]`` per ``key`` (ip, tenant, principal)."""
    key_fn = KEYS[key]

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = _find_request(args)
            try:
                usage = get_usage(
                    request,
                    group=f"cadml.{group}",
                    key=key_fn,
                    rate=lambda _group, _request: view_rate(group),
                    method=method,
                    increment=True,
                )
            except Exception as exc:  # noqa: BLE001 - fail open, see module doc
                logger.warning("view rate limit %s unavailable: %s", group, exc)
                usage = None
            if usage is not None and usage["should_limit"]:
                DECISIONS.labels(scope=f"view:{group}", outcome="blocked").inc()
                wait = max(1, int(usage["time_left"]))
                if isinstance(request, Request):
                    raise Throttled(
                        wait=wait,
                        detail=f"too many {group} requests: at most "
                        f"{view_rate(group)}; retry in {wait}s",
                    )
                response = HttpResponse(
                    f"Too many requests: retry in {wait}s.\n",
                    status=429,
                    content_type="text/plain",
                )
                response["Retry-After"] = str(wait)
                return response
            return view(*args, **kwargs)

        wrapper._cadml_ratelimited = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def protect_admin_login() -> None:
    """Wrap the default admin site's login view (POST, per IP). Done from
    ``AppConfig.ready()`` so the shared URLconf needs no change; the admin builds
    its URL patterns from ``site.login`` later, at first URL resolution."""
    from django.contrib import admin

    site = admin.site
    if getattr(site.login, "_cadml_ratelimited", False):
        return
    site.login = view_ratelimit("admin-login", key="ip", method="POST")(site.login)  # type: ignore[method-assign]
