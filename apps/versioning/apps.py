from __future__ import annotations

from django.apps import AppConfig


class VersioningConfig(AppConfig):
    name = "apps.versioning"
    label = "versioning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from apps.versioning import checks, schema  # noqa: F401  (registration)
        from apps.versioning.registry import clear_cache

        def _reset(*, setting: str, **_: object) -> None:
            if setting.startswith("CADML_API_"):
                clear_cache()

        setting_changed.connect(_reset, dispatch_uid="versioning.registry.reset")
