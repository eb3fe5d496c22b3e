"""What the batch app listens to, connected in ``BatchConfig.ready()``."""

from __future__ import annotations

from typing import Any

from apps.batch.dispatch import dispatch


def analyses_waiting(sender: Any, tenant_id: int, **kwargs: Any) -> None:
    """The CAD core's queued analyses share the tenant's K in-flight slots with
    batch items: hand out what the tenant may run now."""
    dispatch(tenant_id=tenant_id)
