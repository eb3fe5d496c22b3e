"""Permissions from the key's scopes or the session user's role."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apps.accounts.models import ApiKey


def is_staff_session(request: Request) -> bool:
    """Staff powers come with a staff user's own session, never with an API key:
    a key speaks for its tenant with its scopes, whoever created it."""
    return (
        request.user.is_authenticated
        and request.user.is_staff
        and not isinstance(request.auth, ApiKey)
    )


def acting_user(request: Request) -> Any:
    """The session user behind a request, or None (an API key or anonymous)."""
    if isinstance(request.auth, ApiKey) or not request.user.is_authenticated:
        return None
    return request.user


def acting_principal(request: Request) -> Any:
    """Who to record as the actor of a change: the API key, else the session user
    (a key's creator did not make the change)."""
    if isinstance(request.auth, ApiKey):
        return request.auth
    return acting_user(request)


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
