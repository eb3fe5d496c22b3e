from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from apps.audit import checks, receivers, tracking  # noqa: F401

        receivers.connect()
        tracking.track_declared_models()
        _refuse_missing_kek()


def _refuse_missing_kek() -> None:
    """Every process (daphne, Celery, commands) refuses to start without a usable
    KEK when encryption is on, rather than fail on its first audit event. A KEK
    that does not match the stored keys needs the database: check audit.E005."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from apps.audit import crypto

    if not settings.CADML_AUDIT_ENCRYPT:
        return
    try:
        crypto.keks()
    except crypto.KekError as exc:
        raise ImproperlyConfigured(str(exc)) from None
