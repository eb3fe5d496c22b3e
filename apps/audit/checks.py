"""Misconfiguration of the audit trail, found at start-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from apps.audit.services import parse_overrides

MIDDLEWARE = "apps.audit.middleware.AuditMiddleware"
PRINCIPAL = "apps.accounts.middleware.PrincipalMiddleware"


@register()
def check_audit_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    days = getattr(settings, "CADML_AUDIT_RETENTION_DAYS", 400)
    if not isinstance(days, int) or days < 1:
        problems.append(
            Error(
                "CADML_AUDIT_RETENTION_DAYS must be a whole number of days >= 1",
                id="audit.E001",
            )
        )
    try:
        parse_overrides(getattr(settings, "CADML_AUDIT_RETENTION_OVERRIDES", ""))
    except ValueError as exc:
        problems.append(
            Error(
                f"CADML_AUDIT_RETENTION_OVERRIDES: {exc}",
                hint="e.g. CADML_AUDIT_RETENTION_OVERRIDES=api=90,auth=730",
                id="audit.E002",
            )
        )
    middleware = list(settings.MIDDLEWARE)
    if MIDDLEWARE in middleware and (
        PRINCIPAL not in middleware
        or middleware.index(MIDDLEWARE) < middleware.index(PRINCIPAL)
    ):
        problems.append(
            Error(f"{MIDDLEWARE} must come after {PRINCIPAL}", id="audit.E003")
        )
    if not settings.DEBUG and not getattr(settings, "CADML_AUDIT_SIGNING_KEY", ""):
        problems.append(
            Warning(
                "CADML_AUDIT_SIGNING_KEY is not set: audit digests are signed with a "
                "key derived from SECRET_KEY, so anyone who can read SECRET_KEY can "
                "forge them",
                hint="set CADML_AUDIT_SIGNING_KEY to a random secret kept apart",
                id="audit.W001",
            )
        )
    return problems
