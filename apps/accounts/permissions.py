"""Permissions from the key's scopes or the session user's role."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apps.accounts.models import ApiKey


def required_scope(request: Request, view: Any) -> str:
    explicit = getattr(view, "required_scope", None)
    if isinstance(explicit, dict):
        explicit = explicit.get(request.method)
    if explicit:
        return explicit
    return "read" if request.method in SAFE_METHODS else "write"


def principal_scopes(request: Request) -> frozenset[str]:
    if isinstance(request.auth, ApiKey):
        return frozenset(
            s for s in ("read", "write", "admin") if request.auth.has_scope(s)
        )
    membership = getattr(request._request, "membership", None)
    return membership.scopes if membership is not None else frozenset()


class HasTenantScope(BasePermission):
    """The caller acts for exactly one tenant and holds the scope the method needs:
    read for safe methods, write otherwise, or the view's ``required_scope``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user.is_authenticated and not isinstance(request.auth, ApiKey):
            raise exceptions.NotAuthenticated()
        if getattr(request._request, "tenant", None) is None:
            raise exceptions.PermissionDenied(
                "this account is not a member of any tenant"
            )
        scope = required_scope(request, view)
        if scope not in principal_scopes(request):
            raise exceptions.PermissionDenied(
                f"this operation needs the {scope!r} scope"
            )
        return True
