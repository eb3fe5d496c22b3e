"""What registry changes tell other apps, through ``cadml.lib.events``.

The registry never imports realtime or audit: it announces a change on the
model's channel and, where the change is an auditable fact, records it under the
action its caller names. Whoever subscribes (realtime, audit) does the rest.
"""

from __future__ import annotations

from typing import Any

from apps.modelreg.models import RegisteredModel
from cadml.lib import events
from cadml.lib.channels import model_channel, tenant_channel

SENDER = "modelreg"


def actor_fields(actor: Any) -> dict[str, Any]:
    """``actor`` (a user, an API key: anything with a ``prefix``, or None) as the
    ``actor`` / ``actor_key`` columns of a version or an activation event."""
    if getattr(actor, "is_authenticated", False):
        return {"actor": actor, "actor_key": None}
    if getattr(actor, "prefix", None):
        return {"actor": None, "actor_key": actor}
    return {"actor": None, "actor_key": None}


def channel_of(model: RegisteredModel) -> str:
    """A platform model's notices go to ``model:<name>`` (any principal may
    listen); a tenant's own model's to ``tenant:<slug>``, which only its members
    see."""
    if model.tenant is not None:
        return tenant_channel(model.tenant.slug)
    return model_channel(model.name)


def model_changed(
    model: RegisteredModel,
    type: str,
    data: dict[str, Any],
    *,
    actor: Any = None,
    action: str | None = None,
) -> None:
    """Announce ``type`` once the transaction commits; with ``action``, also
    record the change as that auditable fact, inside the transaction (so a
    failing record rolls the change back, as the audit trail requires)."""
    payload = {"model": model.name, **data}
    events.announce(
        SENDER, channels=[channel_of(model)], type=type, data=payload, on_commit=True
    )
    if action is None:
        return
    fields = actor_fields(actor)
    user, key = fields["actor"], fields["actor_key"]
    events.record(
        SENDER,
        action=action,
        tenant=model.tenant,
        actor_user=user,
        actor_key_prefix=key.prefix if key is not None else None,
        actor_system=None if user or key else SENDER,
        resource_type="model_version",
        resource_id=f"{model.name}:v{data.get('version')}"[:64],
        details={"type": type, **payload},
    )
