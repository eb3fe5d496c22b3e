"""Per-RPC state and the one gateway from async servicers to the sync ORM."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from apps.accounts.models import ApiKey, Tenant

T = TypeVar("T")


@dataclass(frozen=True)
class Principal:
    api_key: ApiKey
    tenant: Tenant
    method: str
    peer: str

    def has_scope(self, scope: str) -> bool:
        return self.api_key.has_scope(scope)


current_principal: ContextVar[Principal | None] = ContextVar(
    "cadml_grpc_principal", default=None
)


def principal() -> Principal:
    value = current_principal.get()
    if value is None:  # the auth interceptor guarantees it; this is a bug guard
        raise RuntimeError("no authenticated principal in this RPC")
    return value


def _with_fresh_connection(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    # ORM work runs in executor threads, each with its own connection: drop
    # connections that are broken or past CONN_MAX_AGE before and after, as
    # Django does around each HTTP request.
    close_old_connections()
    try:
        return fn(*args, **kwargs)
    finally:
        close_old_connections()


async def run_sync(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking (ORM, CPU-bound) work off the event loop, in parallel threads
    (``thread_sensitive=False``: gRPC calls must not queue behind each other)."""
    return await sync_to_async(_with_fresh_connection, thread_sensitive=False)(
        fn, *args, **kwargs
    )
