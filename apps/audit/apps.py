from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from apps.audit import checks, receivers, tracking  # noqa: F401

        receivers.connect()
        tracking.track_foundation_models()
