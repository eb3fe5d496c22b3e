from __future__ import annotations

from django.apps import AppConfig


class BatchConfig(AppConfig):
    name = "apps.batch"
    label = "batch"
    verbose_name = "Batch jobs"

    def ready(self) -> None:
        from apps.batch import checks  # noqa: F401  (registers the system checks)
