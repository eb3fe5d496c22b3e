"""Who is acting, where no request says so (Celery tasks, gRPC, commands).

``audit_actor(...)`` sets both our actor (read by ``audit_record``) and
django-auditlog's, so model changes made inside it carry the same actor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from auditlog.context import set_extra_data
from opentelemetry import trace

from cadml.lib.request_id import current_request_id


@dataclass(frozen=True)
class Actor:
    type: str  # an ActorType value
    label: str
    user: Any = None
    key_prefix: str = ""
    ip: str = ""
    user_agent: str = ""


current_actor: ContextVar[Actor | None] = ContextVar("cadml_audit_actor", default=None)


@contextlib.contextmanager
def audit_actor(
    *, user: Any = None, system: str = "", key_prefix: str = "", ip: str = ""
) -> Iterator[Actor]:
    """Attribute everything audited inside the block to ``user``, to an API key, or
    to ``system:<system>`` (e.g. ``audit_actor(system="celery:audit_seal")``)."""
    if user is not None:
        actor = Actor("user", user.get_username(), user=user, ip=ip)
    elif key_prefix:
        actor = Actor("api_key", f"key:{key_prefix}", key_prefix=key_prefix, ip=ip)
    else:
        actor = Actor("system", f"system:{system or 'unknown'}", ip=ip)
    token = current_actor.set(actor)
    try:
        with auditlog_actor(user=user, key_prefix=key_prefix, ip=ip):
            yield actor
    finally:
        current_actor.reset(token)


def auditlog_actor(
    *, user: Any = None, key_prefix: str = "", ip: str = ""
) -> contextlib.AbstractContextManager[None]:
    """django-auditlog's actor for model changes made inside the block: the user,
    or for an API key no user and ``additional_data.api_key`` (a key's changes
    are not its creator's)."""
    data: dict[str, Any] = {"actor": user, "remote_addr": ip or None}
    if key_prefix:
        data["actor"] = None
        data["additional_data"] = {"api_key": key_prefix}
    return set_extra_data(data)


def request_id_for_auditlog() -> str | None:
    """``AUDITLOG_CID_GETTER``: auditlog's correlation id is our request id."""
    return current_request_id.get()


def current_trace_id() -> str:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""
