"""Start-up checks: a misconfigured limit fails ``manage.py check`` (and every
server start) with the policy named, instead of surprising a customer later."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string

from apps.accounts.models import Tenant
from apps.ratelimit.policies import ANONYMOUS, PolicyError, parse_plan, raw_policies


@register()
def check_policies(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    try:
        policies = raw_policies()
    except PolicyError as exc:
        return [Error(str(exc), id="ratelimit.E001")]
    shadowed = frozenset(settings.CADML_RATELIMIT_SHADOW or [])
    for plan, scopes in policies.items():
        try:
            parse_plan(plan, scopes, shadowed)
        except PolicyError as exc:
            errors.append(
                Error(
                    str(exc),
                    hint="Scopes are ip, key, tenant, global; rates look like "
                    "'60/minute' or '1000/hour'.",
                    obj=f"CADML_RATELIMIT_POLICIES[{plan!r}]",
                    id="ratelimit.E001",
                )
            )
    for plan in [*Tenant.Plan.values, ANONYMOUS]:
        if plan not in policies:
            errors.append(
                Error(
                    f"plan {plan!r} has no rate-limit policy",
                    obj="CADML_RATELIMIT_POLICIES",
                    id="ratelimit.E002",
                )
            )
    return errors


@register()
def check_costs(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    costs = settings.CADML_RATELIMIT_COSTS or {}
    if not isinstance(costs, dict):
        return [Error("CADML_RATELIMIT_COSTS must be a dict", id="ratelimit.E003")]
    for name, spec in costs.items():
        values = spec.values() if isinstance(spec, dict) else [spec]
        for value in values:
            if isinstance(value, bool) or (isinstance(value, int) and value < 0):
                ok = False
            elif isinstance(value, int):
                ok = True
            elif isinstance(value, str):
                try:
                    ok = callable(import_string(value))
                except ImportError:
                    ok = False
            else:
                ok = False
            if not ok:
                errors.append(
                    Error(
                        f"cost of URL name {name!r} must be a non-negative int, a "
                        f"{{method: int}} dict or a dotted path to a callable, "
                        f"got {value!r}",
                        obj="CADML_RATELIMIT_COSTS",
                        id="ratelimit.E003",
                    )
                )
    return errors


@register()
def check_network(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    for cidr in settings.CADML_TRUSTED_PROXIES or []:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"CADML_TRUSTED_PROXIES: {cidr!r} is not an address or CIDR",
                    id="ratelimit.E004",
                )
            )
    fraction = settings.CADML_RATELIMIT_LOCAL_FRACTION
    if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        errors.append(
            Error(
                f"CADML_RATELIMIT_LOCAL_FRACTION must be in (0, 1], got {fraction!r}",
                id="ratelimit.E005",
            )
        )
    url = settings.CADML_RATELIMIT_STORAGE_URL
    if url:
        from limits.storage import SCHEMES

        scheme = url.split("://", 1)[0]
        if (
            scheme not in SCHEMES
            or "async" in scheme
            or not ("redis" in scheme or "valkey" in scheme)
        ):
            errors.append(
                Error(
                    f"CADML_RATELIMIT_STORAGE_URL scheme {scheme!r} is not supported "
                    "(redis://, rediss://, redis+sentinel://, redis+cluster://)",
                    id="ratelimit.E006",
                )
            )
    return errors
