from __future__ import annotations

from django.apps import AppConfig


class ModelregConfig(AppConfig):
    name = "apps.modelreg"
    label = "modelreg"
    verbose_name = "Model registry"

    def ready(self) -> None:
        from apps.modelreg import checks  # noqa: F401 - registers system checks
