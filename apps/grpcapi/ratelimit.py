"""The REST limiter for gRPC: same plans, same windows, same Redis counters."""

from __future__ import annotations

from typing import Any

import grpc
from django.conf import settings
from grpc import aio

from apps.grpcapi.context import current_principal
from apps.grpcapi.interceptors import _WrappingInterceptor
from apps.ratelimit.services import aratelimit_check


def peer_ip(peer: str) -> str | None:
    """``ipv4:1.2.3.4:5678`` / ``ipv6:[::1]:5678`` -> the address."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return None


class RateLimitInterceptor(_WrappingInterceptor):
    async def before(
        self, details: grpc.HandlerCallDetails, context: aio.ServicerContext
    ) -> Any:
        principal = current_principal.get()
        if principal is None:
            return None
        costs = settings.CADML_GRPC_RATELIMIT_COSTS
        decision = await aratelimit_check(
            plan=principal.tenant.plan,
            ip=peer_ip(context.peer()),
            key=f"k{principal.api_key.pk}",
            tenant=f"t{principal.tenant.pk}",
            cost=costs.get(details.method, 1),
        )
        if not decision.allowed:
            blocked = decision.blocked_by
            scope = blocked.window.name if blocked else "limit"
            context.set_trailing_metadata((("retry-after", str(decision.retry_after)),))
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"rate limit {scope!r} exceeded; retry after {decision.retry_after} s",
            )
        return None
