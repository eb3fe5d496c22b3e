"""The batch app's edges to realtime and audit, both optional at import time.

Realtime and audit are built by other apps; until they are installed these are
no-ops, so the batch pipeline never fails because a notification could not go
out (a dropped progress event is harmless; the job row is the truth).
"""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps

log = logging.getLogger(__name__)


def publish(channels: list[str], type: str, data: dict[str, Any]) -> None:
    if not apps.is_installed("apps.realtime"):
        return
    try:
        from apps.realtime.services import publish as realtime_publish
    except ImportError:
        return
    for channel in channels:
        try:
            realtime_publish(channel, type, data)
        except Exception:
            log.warning("publishing %s on %s failed", type, channel, exc_info=True)


def audit(
    action: str,
    *,
    tenant: Any,
    job_id: int,
    user: Any = None,
    request: Any = None,
    outcome: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    if not apps.is_installed("apps.audit"):
        return
    try:
        from apps.audit.services import audit_record
    except ImportError:
        return
    try:
        extra: dict[str, Any] = {"outcome": outcome} if outcome else {}
        audit_record(
            action=action,
            request=request,
            tenant=tenant,
            actor_user=user if getattr(user, "pk", None) else None,
            actor_system=None if (user is not None or request is not None) else "batch",
            resource_type="batch_job",
            resource_id=job_id,
            details=details or {},
            **extra,
        )
    except Exception:
        log.warning("audit %s failed", action, exc_info=True)
