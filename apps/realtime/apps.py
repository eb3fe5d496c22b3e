from __future__ import annotations

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "apps.realtime"
    label = "realtime"
    verbose_name = "Realtime notifications"

    def ready(self) -> None:
        from apps.realtime import checks  # noqa: F401  (registers the system checks)
