from __future__ import annotations

from django.apps import AppConfig


class CadConfig(AppConfig):
    name = "apps.cad"
    label = "cad"
    verbose_name = "CAD analysis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.cad import checks  # noqa: F401 - registers the system checks
