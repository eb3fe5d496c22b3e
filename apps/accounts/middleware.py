"""Resolve who is calling, and for which tenant, before anything else needs it.

Rate limiting and auditing run as middleware and need the principal, so it is
resolved here once; the DRF authentication classes only read the result. Identity
and tenant come from the API key or the session, never from a client header alone:
``X-Tenant`` only chooses among the session user's own memberships.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.accounts.models import ApiKey, Membership, Tenant
from apps.accounts.selectors import memberships_of
from apps.accounts.services import api_key_authenticate
from cadml.lib.errors import AuthenticationError, DomainError, InvalidInput, NotFound

API_KEY_KEYWORD = "api-key"


def presented_key(request: HttpRequest) -> str | None:
    """The API key the client presented, '' for an empty one, None for none."""
    header = request.headers.get("Authorization")
    if header:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == API_KEY_KEYWORD:
            return value.strip()
    x_api_key = request.headers.get("X-API-Key")
    if x_api_key is not None:
        return x_api_key.strip()
    return None


def resolve_session_tenant(
    request: HttpRequest, user_id: int
) -> tuple[Tenant | None, Membership | None]:
    wanted = request.headers.get("X-Tenant")
    memberships = list(memberships_of(user_id=user_id))
    if wanted is not None:
        for membership in memberships:
            if membership.tenant.slug == wanted:
                return membership.tenant, membership
        raise NotFound(f"tenant {wanted!r} not found")
    if len(memberships) == 1:
        return memberships[0].tenant, memberships[0]
    if len(memberships) > 1:
        slugs = ", ".join(m.tenant.slug for m in memberships)
        raise InvalidInput(
            f"you belong to several tenants; choose one with the X-Tenant header "
            f"({slugs})",
            code="tenant_required",
        )
    return None, None


class PrincipalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.resolve(request)
        return self.get_response(request)

    @staticmethod
    def resolve(request: HttpRequest) -> None:
        request.api_key: ApiKey | None = None  # type: ignore[attr-defined,misc]
        request.tenant: Tenant | None = None  # type: ignore[attr-defined,misc]
        request.membership: Membership | None = None  # type: ignore[attr-defined,misc]
        request.auth_error: DomainError | None = None  # type: ignore[attr-defined,misc]
        request.tenant_error: DomainError | None = None  # type: ignore[attr-defined,misc]
        plaintext = presented_key(request)
        if plaintext is not None:
            try:
                api_key = api_key_authenticate(plaintext=plaintext)
            except AuthenticationError as exc:
                request.auth_error = exc  # type: ignore[attr-defined]
                return
            request.api_key = api_key  # type: ignore[attr-defined]
            request.tenant = api_key.tenant  # type: ignore[attr-defined]
            return
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                tenant, membership = resolve_session_tenant(request, user.pk)
            except DomainError as exc:
                request.tenant_error = exc  # type: ignore[attr-defined]
                return
            request.tenant = tenant  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
