"""How an app declares which of its models keep a change history.

The app lists them on its ``AppConfig`` (``model_history = (ModelHistory(...),
...)``); the audit app, where installed, puts them under django-auditlog in its
own ``ready()``. The declaring app imports nothing of audit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ModelHistory:
    #: The model's name in its app (``"Tenant"``).
    model: str
    #: The field that says whose object it is (``"pk"`` for the tenant itself,
    #: ``None`` for objects only staff may see); the changes API keeps tenants
    #: apart with it.
    tenant_field: str | None
    #: Never recorded (secrets, counters that move all the time).
    exclude_fields: tuple[str, ...] = ()
    #: Recorded masked.
    mask_fields: tuple[str, ...] = ()
