from __future__ import annotations

from django.apps import AppConfig


class RatelimitConfig(AppConfig):
    name = "apps.ratelimit"
    label = "ratelimit"
    verbose_name = "Rate limiting"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from apps.ratelimit import (
            checks,  # noqa: F401 - registers the checks
            engine,
            policies,
        )
        from apps.ratelimit.decorators import protect_admin_login

        setting_changed.connect(
            policies.on_setting_changed, dispatch_uid="ratelimit.policies"
        )
        setting_changed.connect(
            engine.on_setting_changed, dispatch_uid="ratelimit.engine"
        )
        protect_admin_login()
