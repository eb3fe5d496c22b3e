"""The one seam for cross-app notifications.

Domain code says what happened; it never imports the apps that care. Two kinds:

- ``record(...)``: an auditable fact ("a model version was activated"). Sent
  synchronously, in the caller's transaction, so the audit app (which subscribes in
  its ``AppConfig.ready()``) writes its event atomically with the change: if the
  change rolls back, so does the record. A subscriber's failure propagates unless
  the emitter asks for ``robust=True`` (then it is logged and dropped).
- ``announce(...)``: a notice for live listeners ("job 7 is 40% done"). The
  realtime app subscribes and publishes it on WebSocket channels; delivery is best
  effort: a failure is logged, never raised, and ``on_commit=True`` waits for the
  surrounding transaction.

Metrics, webhooks or anything else subscribe the same way. With no subscriber
installed both are no-ops, which is the one way an app expresses "that other app
may be absent".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

#: ``sender`` is the emitting app's label; the receiver gets ``event=Record``.
recorded = Signal()
#: ``sender`` is the emitting app's label; the receiver gets ``notice=Notice``.
announced = Signal()


@dataclass(frozen=True, kw_only=True)
class Record:
    """An auditable fact. ``action`` names it (the audit catalogue's names); the
    actor comes from ``request`` / ``actor_*`` or, failing those, from the ambient
    actor the caller set (Celery task, gRPC call, command)."""

    action: str
    tenant: Any = None
    request: Any = None
    actor_user: Any = None
    actor_key_prefix: str | None = None
    actor_system: str | None = None
    resource_type: str = ""
    resource_id: str | int = ""
    outcome: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    #: The client's address where the emitter knows it better than the request
    #: does (the rate limiter's, behind trusted proxies).
    ip: str | None = None
    #: The actor only where neither the fields above nor the caller's context
    #: name one (a key's creator, when a command makes the key).
    fallback_user: Any = None


@dataclass(frozen=True, kw_only=True)
class Notice:
    """A live notice: ``type`` and ``data`` sent on each of ``channels``."""

    channels: tuple[str, ...]
    type: str
    data: Mapping[str, Any]


def record(sender: str, *, robust: bool = False, **fields: Any) -> None:
    """Tell subscribers an auditable fact happened (see the module docstring)."""
    event = Record(**fields)
    if not robust:
        recorded.send(sender=sender, event=event)
        return
    for receiver, result in recorded.send_robust(sender=sender, event=event):
        if isinstance(result, Exception):
            log.warning(
                "recording %s failed in %r",
                event.action,
                receiver,
                exc_info=result,
            )


def announce(
    sender: str,
    *,
    channels: Sequence[str],
    type: str,
    data: Mapping[str, Any],
    on_commit: bool = False,
) -> None:
    """Tell live listeners; never raises for a subscriber's failure."""
    notice = Notice(channels=tuple(channels), type=type, data=dict(data))

    def send() -> None:
        for receiver, result in announced.send_robust(sender=sender, notice=notice):
            if isinstance(result, Exception):
                log.warning(
                    "announcing %s on %s failed in %r",
                    notice.type,
                    ",".join(notice.channels),
                    receiver,
                    exc_info=result,
                )

    if on_commit:
        transaction.on_commit(send, robust=True)
    else:
        send()
