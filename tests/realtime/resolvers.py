"""A stand-in for the batch app's ``job:`` resolver, plugged in through
``CADML_REALTIME_CHANNEL_RESOLVERS`` the way the batch app will plug in its own:
job ids ``<tenant id>-<n>`` belong to that tenant."""

from __future__ import annotations

from apps.realtime.principal import Principal


def job_of_own_tenant(principal: Principal, ident: str) -> bool:
    tenant_id, _, _ = ident.partition("-")
    return tenant_id.isdigit() and int(tenant_id) in principal.tenant_ids
