"""The batch app's notices and audit facts, through ``cadml.lib.events``.

Realtime and audit subscribe there; batch does not import them. A dropped
progress notice is harmless (the job row is the truth), and a failing audit
write never fails a job step.
"""

from __future__ import annotations

from typing import Any

from cadml.lib import events


def publish(channels: list[str], type: str, data: dict[str, Any]) -> None:
    events.announce("batch", channels=channels, type=type, data=data)


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
    events.record(
        "batch",
        robust=True,
        action=action,
        request=request,
        tenant=tenant,
        actor_user=user if getattr(user, "pk", None) else None,
        actor_system=None if (user is not None or request is not None) else "batch",
        resource_type="batch_job",
        resource_id=job_id,
        outcome=outcome,
        details=details or {},
    )
