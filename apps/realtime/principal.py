"""Who is on the other end of a WebSocket, resolved once at the handshake.

A principal is a user (session cookie, or a ticket issued to a session) or an API
key (a ticket issued to a key). An API key acts for its tenant, not for the person
who created it, so a key principal has no ``user_id`` and cannot see ``user:``
channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from apps.accounts.models import ROLE_SCOPES, ApiKey
from apps.accounts.selectors import memberships_of


@dataclass(frozen=True)
class TenantGrant:
    tenant_id: int
    slug: str
    plan: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class Principal:
    kind: str  # "session" or "api_key"
    user_id: int | None = None
    api_key_id: int | None = None
    is_staff: bool = False
    tenants: tuple[TenantGrant, ...] = field(default_factory=tuple)

    @property
    def tenant_ids(self) -> frozenset[int]:
        """For channel resolvers: ``Job.objects.filter(tenant_id__in=...)``."""
        return frozenset(grant.tenant_id for grant in self.tenants)

    @property
    def identity_key(self) -> str:
        """The per-user connection limit counts against this."""
        if self.api_key_id is not None:
            return f"key:{self.api_key_id}"
        return f"user:{self.user_id}"

    def grant_for_slug(self, slug: str) -> TenantGrant | None:
        return next((g for g in self.tenants if g.slug == slug), None)

    def is_tenant_admin(self) -> bool:
        return any("admin" in grant.scopes for grant in self.tenants)


def _key_scopes(api_key: ApiKey) -> frozenset[str]:
    return frozenset(s for s in ("read", "write", "admin") if api_key.has_scope(s))


def principal_for_api_key(*, api_key_id: int) -> Principal | None:
    api_key = ApiKey.objects.select_related("tenant").filter(pk=api_key_id).first()
    if api_key is None or not api_key.is_active():
        return None
    tenant = api_key.tenant
    return Principal(
        kind="api_key",
        api_key_id=api_key.pk,
        tenants=(
            TenantGrant(tenant.pk, tenant.slug, tenant.plan, _key_scopes(api_key)),
        ),
    )


def principal_for_user(
    *, user_id: int, tenant_id: int | None = None
) -> Principal | None:
    """A user's principal; ``tenant_id`` narrows it to the tenant a ticket was
    issued for (REST resolves exactly one tenant per request, so does the ticket)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    memberships = memberships_of(user_id=user.pk)
    if tenant_id is not None:
        memberships = memberships.filter(tenant_id=tenant_id)
    grants = tuple(
        TenantGrant(m.tenant_id, m.tenant.slug, m.tenant.plan, ROLE_SCOPES[m.role])
        for m in memberships
    )
    return Principal(
        kind="session", user_id=user.pk, is_staff=user.is_staff, tenants=grants
    )
