"""Reads of current usage, for ``manage.py ratelimit_status`` and operators."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from limits.strategies import SlidingWindowCounterRateLimiter

from apps.accounts.models import ApiKey, Membership, Tenant
from apps.ratelimit.engine import get_limiter
from apps.ratelimit.policies import windows_for


@dataclass(frozen=True)
class Usage:
    scope: str
    identifier: str
    label: str
    window: str
    limit: int
    used: int
    remaining: int
    reset_in: int


def ratelimit_usage(*, tenant: Tenant) -> list[Usage]:
    """Usage of every window of ``tenant``'s plan: the tenant, each of its active
    API keys and members, and the global ceiling. Needs the shared storage
    (Redis): process-local counters live inside each server process."""
    limiter = get_limiter()
    if limiter.redis is None:
        raise RuntimeError(
            "no shared rate-limit storage is configured (REDIS_URL or "
            "CADML_RATELIMIT_STORAGE_URL): usage lives inside each server process"
        )
    strategy = SlidingWindowCounterRateLimiter(limiter.redis.storage)
    namespace = settings.CADML_RATELIMIT_NAMESPACE
    subjects: dict[str, list[tuple[str, str]]] = {
        "tenant": [(f"t{tenant.pk}", tenant.slug)],
        "global": [("all", "all tenants")],
        "key": [
            (f"k{key.pk}", f"api key {key.prefix} ({key.name})")
            for key in ApiKey.objects.filter(tenant=tenant, revoked_at=None)
        ]
        + [
            (f"u{m.user_id}", f"user {m.user.get_username()}")
            for m in Membership.objects.filter(tenant=tenant).select_related("user")
        ],
    }
    now = time.time()
    rows = []
    for window in windows_for(tenant.plan):
        for identifier, label in subjects.get(window.scope, []):
            stats = strategy.get_window_stats(
                window.item, namespace, window.scope, identifier
            )
            rows.append(
                Usage(
                    scope=window.scope,
                    identifier=identifier,
                    label=label,
                    window=window.name + (" (shadow)" if window.shadow else ""),
                    limit=window.amount,
                    used=window.amount - stats.remaining,
                    remaining=stats.remaining,
                    reset_in=max(0, round(stats.reset_time - now)),
                )
            )
    return rows
