"""Model-change history with django-auditlog.

Each app declares which of its models keep a history, in its own ``AppConfig``
(``model_history``, a tuple of ``cadml.lib.history.ModelHistory``); the audit
app registers them here from its ``ready()``, so the declaring app never
imports audit. Secrets are excluded, never merely masked. The model's admin
page gains the auditlog history view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditlog.registry import auditlog
from django.apps import apps as django_apps
from django.db import models

from cadml.lib.history import ModelHistory


@dataclass(frozen=True)
class Tracked:
    model: type[models.Model]
    tenant_field: str | None


TRACKED: dict[str, Tracked] = {}


def track_model(
    model: type[models.Model],
    *,
    tenant_field: str | None,
    exclude_fields: list[str] | None = None,
    mask_fields: list[str] | None = None,
    **options: Any,
) -> None:
    label = model._meta.label_lower
    if label in TRACKED:
        return
    auditlog.register(
        model,
        exclude_fields=exclude_fields or [],
        mask_fields=mask_fields or [],
        **options,
    )
    TRACKED[label] = Tracked(model=model, tenant_field=tenant_field)
    add_admin_history(model)


def add_admin_history(model: type[models.Model]) -> None:
    """Give the model's admin django-auditlog's history view and an "Audit log"
    link in its change list. The admin has registered every ModelAdmin by the time
    apps' ``ready()`` run; its URLs are built later, on the first request."""
    from auditlog.mixins import AuditlogHistoryAdminMixin
    from django.contrib import admin

    current = admin.site._registry.get(model)
    if current is None or isinstance(current, AuditlogHistoryAdminMixin):
        return
    admin_class = type(
        f"{type(current).__name__}WithHistory",
        (AuditlogHistoryAdminMixin, type(current)),
        {"show_auditlog_history_link": True},
    )
    admin.site.unregister(model)
    admin.site.register(model, admin_class)


def track_declared_models() -> None:
    """Every installed app's ``model_history`` (models are loaded before any
    ``ready()`` runs)."""
    for config in django_apps.get_app_configs():
        declared: tuple[ModelHistory, ...] = getattr(config, "model_history", ())
        for history in declared:
            track_model(
                config.get_model(history.model),
                tenant_field=history.tenant_field,
                exclude_fields=list(history.exclude_fields),
                mask_fields=list(history.mask_fields),
            )
