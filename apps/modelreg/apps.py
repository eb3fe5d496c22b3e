from __future__ import annotations

from django.apps import AppConfig

from cadml.lib.history import ModelHistory


class ModelregConfig(AppConfig):
    name = "apps.modelreg"
    label = "modelreg"
    verbose_name = "Model registry"
    # Change history (django-auditlog, through the audit app where installed).
    # Platform models (tenant None) are staff-only in the changes API.
    model_history = (
        ModelHistory(
            model="ModelVersion",
            tenant_field="model__tenant",
            exclude_fields=("validation_sample", "training_summary"),
        ),
        ModelHistory(
            model="Deployment",
            tenant_field="model__tenant",
            exclude_fields=("salt", "history", "updated"),
        ),
    )

    def ready(self) -> None:
        from apps.modelreg import checks  # noqa: F401 - registers system checks
