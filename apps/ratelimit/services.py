"""The limiter API for every interface: HTTP middleware, gRPC interceptors and
WebSocket consumers call the same functions.

``ratelimit_check(plan=..., ip=..., key=..., tenant=..., cost=...)`` applies the
plan's policies (all windows of all scopes, one Redis round trip) and returns a
``Decision`` that knows its headers and Retry-After. ``ratelimit_hit(...)`` is for
ad-hoc limits outside the plans (WebSocket handshakes per IP, messages per
connection). Both have async twins for consumers and ``grpc.aio``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest
from limits import parse_many

from apps.ratelimit.client_ip import client_ip, ip_identity
from apps.ratelimit.engine import Row, Slot, get_limiter
from apps.ratelimit.metrics import DECISIONS
from apps.ratelimit.policies import ANONYMOUS, Window, window_name, windows_for
from cadml.lib import events


@dataclass(frozen=True)
class Identity:
    """Who a request counts against; a scope whose identity is None is skipped."""

    plan: str
    ip: str | None = None
    key: str | None = None
    tenant: str | None = None

    def of(self, scope: str) -> str | None:
        if scope == "global":
            return "all"
        return getattr(self, scope)


@dataclass(frozen=True)
class WindowState:
    window: Window
    row: Row

    @property
    def blocking(self) -> bool:
        return self.row.over and not self.window.shadow


@dataclass(frozen=True)
class Decision:
    allowed: bool
    cost: int
    states: tuple[WindowState, ...] = ()
    local: bool = False
    identity: Identity | None = field(default=None, compare=False)

    @property
    def blocked_by(self) -> WindowState | None:
        """The refusing window that takes longest to fit this request again."""
        blocking = [s for s in self.states if s.blocking]
        return max(blocking, key=lambda s: s.row.wait_for(self.cost), default=None)

    @property
    def retry_after(self) -> int:
        """Seconds until this request's cost fits in every refusing window."""
        blocking = self.blocked_by
        return max(1, blocking.row.wait_for(self.cost)) if blocking else 0

    @property
    def shadow_exceeded(self) -> list[WindowState]:
        return [s for s in self.states if s.row.over and s.window.shadow]

    @property
    def tightest(self) -> WindowState | None:
        """The window with the least left (then the soonest reset)."""
        return min(
            self.states,
            key=lambda s: (s.row.remaining, s.row.reset_after),
            default=None,
        )

    def headers(self) -> dict[str, str]:
        """``RateLimit-Policy``/``RateLimit`` (IETF httpapi draft 11) and the
        ``X-RateLimit-*`` trio of the tightest window."""
        if not self.states:
            return {}
        policy = ", ".join(
            f'"{s.window.name}";q={s.row.limit};w={s.window.seconds}'
            for s in self.states
        )
        current = ", ".join(
            f'"{s.window.name}";r={s.row.remaining};t={self._reset(s)}'
            for s in self.states
        )
        tight = self.tightest
        assert tight is not None
        headers = {
            "RateLimit-Policy": policy,
            "RateLimit": current,
            "X-RateLimit-Limit": str(tight.row.limit),
            "X-RateLimit-Remaining": str(tight.row.remaining),
            "X-RateLimit-Reset": str(self._reset(tight)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers

    def _reset(self, state: WindowState) -> int:
        if state.blocking:
            return state.row.wait_for(self.cost)
        return state.row.reset_after


def _counter_name(window: Window, identifier: str) -> str:
    namespace = settings.CADML_RATELIMIT_NAMESPACE
    return window.item.key_for(namespace, window.scope, identifier)


def _decide(
    windows: Iterable[tuple[Window, str]], cost: int, identity: Identity | None
) -> Decision:
    limiter = get_limiter()
    chosen: list[Window] = []
    slots: list[Slot] = []
    # A tenant's own windows (its keys' and its own) share a hash tag, so on a
    # cluster they sit in one slot and stay all-or-nothing together.
    tenant_tag = f"t{identity.tenant}" if identity and identity.tenant else ""
    for window, identifier in windows:
        tag = tenant_tag if window.scope in ("key", "tenant") else ""
        previous_key, current_key = limiter.key(
            _counter_name(window, identifier), tag=tag
        )
        chosen.append(window)
        slots.append(
            Slot(
                previous_key=previous_key,
                current_key=current_key,
                limit=window.amount,
                seconds=window.seconds,
                enforced=not window.shadow,
            )
        )
    if not slots:
        return Decision(allowed=True, cost=cost, identity=identity)
    allowed, rows, local = limiter.acquire(slots, cost)
    decision = Decision(
        allowed=allowed,
        cost=cost,
        states=tuple(WindowState(w, r) for w, r in zip(chosen, rows, strict=True)),
        local=local,
        identity=identity,
    )
    _count(decision)
    return decision


def _count(decision: Decision) -> None:
    for state in decision.shadow_exceeded:
        DECISIONS.labels(scope=state.window.scope, outcome="shadow_blocked").inc()
    if decision.allowed:
        tight = decision.tightest
        DECISIONS.labels(
            scope=tight.window.scope if tight else "none", outcome="allowed"
        ).inc()
    else:
        blocked = decision.blocked_by
        DECISIONS.labels(
            scope=blocked.window.scope if blocked else "none", outcome="blocked"
        ).inc()


def ratelimit_check(
    *,
    plan: str,
    ip: str | None = None,
    key: str | None = None,
    tenant: str | None = None,
    cost: int = 1,
) -> Decision:
    """Acquire ``cost`` units in every window of ``plan``'s policies, all or none.

    ``ip`` is the client address (IPv6 is counted per /64), ``key`` the API key or
    user (e.g. ``"k42"``/``"u7"``), ``tenant`` the tenant id. Scopes without an
    identity are skipped. Never raises for a Redis outage (local fallback).
    """
    identity = Identity(
        plan=plan, ip=ip_identity(ip) if ip else None, key=key, tenant=tenant
    )
    windows = [
        (window, identifier)
        for window in windows_for(plan)
        if (identifier := identity.of(window.scope)) is not None
    ]
    return _decide(windows, max(0, int(cost)), identity)


def ratelimit_hit(
    *,
    scope: str,
    identifier: str,
    rates: str | Sequence[str],
    cost: int = 1,
    shadow: bool = False,
) -> Decision:
    """An ad-hoc limit outside the plans: ``ratelimit_hit(scope="ws-handshake",
    identifier=ip, rates="30/minute")``. Same engine, same fallback."""
    rate_list = [rates] if isinstance(rates, str) else list(rates)
    windows = [
        (
            Window(
                name=window_name(scope, item), scope=scope, item=item, shadow=shadow
            ),
            identifier,
        )
        for rate in rate_list
        for item in parse_many(rate)
    ]
    return _decide(windows, max(0, int(cost)), None)


aratelimit_check = sync_to_async(ratelimit_check, thread_sensitive=False)
aratelimit_hit = sync_to_async(ratelimit_hit, thread_sensitive=False)


def request_identity(request: HttpRequest) -> Identity:
    """Identity from what PrincipalMiddleware resolved (never from headers): a
    failed key is anonymous per IP; a tenant's plan comes from its database row."""
    ip = client_ip(request)
    if getattr(request, "auth_error", None) is not None:
        return Identity(plan=ANONYMOUS, ip=ip)
    tenant = getattr(request, "tenant", None)
    api_key = getattr(request, "api_key", None)
    key = None
    if api_key is not None:
        key = f"k{api_key.pk}"
    else:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            key = f"u{user.pk}"
    if tenant is None:
        return Identity(plan=ANONYMOUS, ip=ip, key=key)
    return Identity(plan=tenant.plan, ip=ip, key=key, tenant=f"t{tenant.pk}")


# --- audit of blocks -----------------------------------------------------------
_last_audit: OrderedDict[str, float] = OrderedDict()
_audit_lock = threading.Lock()
AUDIT_MEMORY = 10000


def _audit_due(identity_key: str) -> bool:
    """At most one audit event per second per identity (bounded memory)."""
    now = time.monotonic()
    with _audit_lock:
        last = _last_audit.get(identity_key, -math.inf)
        if now - last < 1.0:
            return False
        _last_audit[identity_key] = now
        _last_audit.move_to_end(identity_key)
        while len(_last_audit) > AUDIT_MEMORY:
            _last_audit.popitem(last=False)
        return True


def ratelimit_audit(*, decision: Decision, request: Any = None) -> bool:
    """Record a block in the audit trail (``ratelimit.blocked``; a shadow window's
    excess too, as outcome ``success`` with ``shadow: true``), at most one event
    per second per identity, through ``cadml.lib.events`` (the audit app
    subscribes). Never raises: auditing must not turn a 429 into a 500. Returns
    whether an event was due."""
    identity = decision.identity
    who = (identity.key or identity.tenant or identity.ip or "?") if identity else "?"
    if not _audit_due(who):
        return False
    state = decision.blocked_by or next(iter(decision.shadow_exceeded or ()), None)
    details = {
        "scope": state.window.scope if state else None,
        "policy": state.window.name if state else None,
        "limit": state.row.limit if state else None,
        "cost": decision.cost,
        "retry_after": decision.retry_after,
        "plan": identity.plan if identity else None,
        "local": decision.local,
        "shadow": decision.allowed,
    }
    events.record(
        "ratelimit",
        robust=True,  # the audit trail must never break limiting
        action="ratelimit.blocked",
        outcome="denied" if not decision.allowed else "success",
        request=request,
        details=details,
        ip=client_ip(request) if isinstance(request, HttpRequest) else None,
    )
    return True
