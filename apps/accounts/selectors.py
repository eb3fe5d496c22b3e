from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import ApiKey, Membership, Tenant
from cadml.lib.errors import NotFound


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(tenant=tenant).select_related("created_by")


def api_key_get(*, tenant: Tenant, key_id: int) -> ApiKey:
    api_key = api_key_list(tenant=tenant).filter(pk=key_id).first()
    if api_key is None:
        raise NotFound(f"API key {key_id} not found")
    return api_key


def memberships_of(*, user_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(user_id=user_id).select_related("tenant")


def tenant_by_slug(*, slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        known = ", ".join(
            Tenant.objects.order_by("slug").values_list("slug", flat=True)[:20]
        )
        raise NotFound(f"no tenant {slug!r} (tenants: {known or 'none yet'})")
    return tenant
