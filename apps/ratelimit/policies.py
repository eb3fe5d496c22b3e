"""Rate-limit policies: which windows apply to a request of a given plan.

``CADML_RATELIMIT_POLICIES`` maps a plan (``free``, ``pro``, ``enterprise``,
``internal``, plus ``anonymous`` for callers without a tenant) to scopes (``ip``,
``key``, ``tenant``, ``global``), each with one or more windows::

    CADML_RATELIMIT_POLICIES = {
        "free": {
            "key": ["120/minute", "2000/hour"],
            "tenant": {"rates": ["600/minute"], "shadow": True},
        },
    }

A plan given there replaces that plan's defaults below; other plans keep theirs.
A window's header name is ``<scope>-<period>``: ``"tenant-minute"``, ``"key-hour"``,
``"ip-5minute"``. ``shadow`` windows count and report but never block
(``CADML_RATELIMIT_SHADOW`` adds ``"plan:scope"`` or ``"plan:window"`` entries).
Misconfiguration is reported by ``manage.py check`` (``ratelimit.E001``...).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from limits import RateLimitItem, parse_many

SCOPES = ("ip", "key", "tenant", "global")
ANONYMOUS = "anonymous"

_GLOBAL = ["200000/minute"]

# Generous enough for a busy integration test suite on the paid plans (every test
# request comes from 127.0.0.1 with one key), tight enough on free/anonymous that a
# runaway client is stopped within a minute.
DEFAULT_POLICIES: dict[str, dict[str, Any]] = {
    ANONYMOUS: {"ip": ["120/minute", "2000/hour"], "global": _GLOBAL},
    "free": {
        "key": ["300/minute", "5000/hour"],
        "tenant": ["600/minute", "10000/hour"],
        "ip": ["1200/minute"],
        "global": _GLOBAL,
    },
    "pro": {
        "key": ["3000/minute", "60000/hour"],
        "tenant": ["6000/minute", "200000/hour"],
        "ip": ["6000/minute"],
        "global": _GLOBAL,
    },
    "enterprise": {
        "key": ["10000/minute"],
        "tenant": ["30000/minute", "1000000/hour"],
        "ip": ["30000/minute"],
        "global": _GLOBAL,
    },
    "internal": {
        "key": ["100000/minute"],
        "tenant": ["100000/minute"],
        "global": _GLOBAL,
    },
}


@dataclass(frozen=True)
class Window:
    """One limit of one scope: ``"tenant-minute"``, 600 per 60 s."""

    name: str
    scope: str
    item: RateLimitItem
    shadow: bool = False

    @property
    def amount(self) -> int:
        return int(self.item.amount)

    @property
    def seconds(self) -> int:
        return int(self.item.get_expiry())


class PolicyError(ValueError):
    """A policy that cannot be used; the message names it."""


def window_name(scope: str, item: RateLimitItem) -> str:
    period = item.GRANULARITY.name
    return (
        f"{scope}-{period}"
        if item.multiples == 1
        else f"{scope}-{item.multiples}{period}"
    )


def _rates_and_shadow(where: str, spec: Any) -> tuple[list[str], bool]:
    if isinstance(spec, str):
        return [spec], False
    if isinstance(spec, (list, tuple)):
        return [str(rate) for rate in spec], False
    if isinstance(spec, dict):
        unknown = set(spec) - {"rates", "shadow"}
        if unknown:
            raise PolicyError(f"{where}: unknown option(s) {sorted(unknown)}")
        rates = spec.get("rates")
        if isinstance(rates, str):
            rates = [rates]
        if not isinstance(rates, (list, tuple)):
            raise PolicyError(f"{where}: 'rates' must be a list like ['60/minute']")
        return [str(rate) for rate in rates], bool(spec.get("shadow", False))
    raise PolicyError(
        f"{where}: expected a list of rates like ['60/minute', '1000/hour'], "
        f"got {type(spec).__name__}"
    )


def parse_plan(plan: str, scopes: Any, shadowed: frozenset[str]) -> tuple[Window, ...]:
    if not isinstance(scopes, dict):
        raise PolicyError(f"policy {plan!r}: expected a dict of scope -> rates")
    windows: list[Window] = []
    for scope, spec in scopes.items():
        where = f"policy {plan}:{scope}"
        if scope not in SCOPES:
            raise PolicyError(
                f"{where}: unknown scope (use one of {', '.join(SCOPES)})"
            )
        rates, shadow = _rates_and_shadow(where, spec)
        if not rates:
            raise PolicyError(f"{where}: no rates given")
        for rate in rates:
            try:
                items = parse_many(rate)
            except ValueError:
                raise PolicyError(
                    f"{where}: cannot parse rate {rate!r} (write '60/minute')"
                ) from None
            for item in items:
                if item.amount < 1:
                    raise PolicyError(f"{where}: rate {rate!r} must allow at least 1")
                name = window_name(scope, item)
                if any(w.name == name for w in windows):
                    raise PolicyError(f"{where}: two windows are named {name!r}")
                windows.append(
                    Window(
                        name=name,
                        scope=scope,
                        item=item,
                        shadow=shadow
                        or f"{plan}:{scope}" in shadowed
                        or f"{plan}:{name}" in shadowed,
                    )
                )
    return tuple(windows)


def raw_policies() -> dict[str, Any]:
    configured = settings.CADML_RATELIMIT_POLICIES or {}
    if not isinstance(configured, dict):
        raise PolicyError("CADML_RATELIMIT_POLICIES must be a dict of plan -> scopes")
    return {**DEFAULT_POLICIES, **configured}


def load_policies() -> dict[str, tuple[Window, ...]]:
    """Parse every plan; raises ``PolicyError`` naming the first bad policy."""
    shadowed = frozenset(settings.CADML_RATELIMIT_SHADOW or [])
    return {
        plan: parse_plan(plan, scopes, shadowed)
        for plan, scopes in raw_policies().items()
    }


_lock = threading.Lock()
_cache: dict[str, tuple[Window, ...]] | None = None


def windows_for(plan: str) -> tuple[Window, ...]:
    """The windows of ``plan`` (unknown plans get ``free``'s: safe, not open)."""
    global _cache
    policies = _cache
    if policies is None:
        with _lock:
            policies = _cache = load_policies()
    return policies.get(plan) or policies.get("free", ())


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    global _cache
    if setting in ("CADML_RATELIMIT_POLICIES", "CADML_RATELIMIT_SHADOW"):
        _cache = None


# --- costs ------------------------------------------------------------------
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def default_cost(method: str) -> int:
    if method in SAFE_METHODS:
        return int(settings.CADML_RATELIMIT_READ_COST)
    return int(settings.CADML_RATELIMIT_WRITE_COST)


def configured_cost(url_names: tuple[str, ...]) -> Any:
    """The ``CADML_RATELIMIT_COSTS`` entry for the first matching URL name."""
    costs: dict[str, Any] = settings.CADML_RATELIMIT_COSTS or {}
    for name in url_names:
        if name and name in costs:
            return costs[name]
    return None
