"""DRF authentication: read what ``PrincipalMiddleware`` resolved."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request

from apps.accounts.middleware import PrincipalMiddleware


def _resolved(request: Request) -> Any:
    django_request = request._request
    if not hasattr(django_request, "auth_error"):
        # Outside the middleware stack (e.g. a view called directly): resolve now.
        PrincipalMiddleware.resolve(django_request)
    return django_request


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Api-Key <key>`` or ``X-API-Key: <key>``."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        resolved = _resolved(request)
        if resolved.auth_error is not None:
            raise exceptions.AuthenticationFailed(
                resolved.auth_error.message, code=resolved.auth_error.code
            )
        api_key = resolved.api_key
        if api_key is None:
            return None
        return (api_key.created_by or AnonymousUser(), api_key)

    def authenticate_header(self, request: Request) -> str:
        # Makes unauthenticated requests 401 (with this challenge), not 403.
        return 'Api-Key realm="cadml"'


class TenantSessionAuthentication(SessionAuthentication):
    """Session login (browsable API, admin users), with ``X-Tenant`` validated."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        error = _resolved(request).tenant_error
        if error is not None:
            if error.status_code == 404:
                raise exceptions.NotFound(error.message)
            raise exceptions.ValidationError({"detail": error.message})
        return result
