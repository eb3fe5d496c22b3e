"""What a training request costs the rate limiter: its drawings."""

from __future__ import annotations

from django.http import HttpRequest


def training_cost(request: HttpRequest) -> int:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return 1  # unauthenticated: the view answers 401
    from apps.modelreg.learning import training_cost as cost

    return cost(tenant=tenant)
