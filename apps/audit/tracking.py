"""Model-change history with django-auditlog.

``track_model(Model, tenant_field=...)`` is the one way to put a model under
history: other apps call it from their ``AppConfig.ready()`` (model versions and
deployments, batch jobs), e.g.::

    from apps.audit.tracking import track_model
    track_model(ModelVersion, tenant_field=None)          # global object
    track_model(BatchJob, tenant_field="tenant", exclude_fields=["progress"])

``tenant_field`` names the field that says whose object it is (``"pk"`` for the
tenant itself, ``None`` for objects only staff may see); the changes API uses it to
keep tenants apart. Secrets are excluded, never merely masked. The model's admin
page gains the auditlog history view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditlog.registry import auditlog
from django.apps import apps as django_apps
from django.db import models


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


def track_foundation_models() -> None:
    from apps.accounts.models import ApiKey, Membership, Tenant

    track_model(
        Tenant,
        tenant_field="pk",
        exclude_fields=["webhook_secret", "webhook_secret_previous"],
    )
    track_model(Membership, tenant_field="tenant")
    # last_used_at moves every minute of use; it is not a change anyone reviews.
    track_model(
        ApiKey, tenant_field="tenant", exclude_fields=["secret_hash", "last_used_at"]
    )
    # Apps that landed alongside: their models are loaded before any ready() runs.
    if django_apps.is_installed("apps.modelreg"):
        from apps.modelreg.models import Deployment, ModelVersion

        # Platform models (tenant None) are staff-only in the changes API.
        track_model(
            ModelVersion,
            tenant_field="model__tenant",
            exclude_fields=["validation_sample", "training_summary"],
        )
        track_model(
            Deployment,
            tenant_field="model__tenant",
            exclude_fields=["salt", "history", "updated"],
        )
    if django_apps.is_installed("apps.batch"):
        from apps.batch.models import BatchJob

        # Progress counters move with every item; the job's lifecycle is what
        # matters here (batch.* events record the rest).
        track_model(
            BatchJob,
            tenant_field="tenant",
            exclude_fields=[
                "done",
                "failed",
                "skipped",
                "last_progress_at",
                "request_hash",
                "idempotency_key",
            ],
        )
