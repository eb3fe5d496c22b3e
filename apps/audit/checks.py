"""Misconfiguration of the audit trail, found at start-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.db import DatabaseError

from apps.audit import crypto
from apps.audit.keys import KeyUnavailable, load_key
from apps.audit.models import AuditDataKey
from apps.audit.services import parse_overrides

MIDDLEWARE = "apps.audit.middleware.AuditMiddleware"
PRINCIPAL = "apps.accounts.middleware.PrincipalMiddleware"


@register()
def check_audit_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    days = settings.CADML_AUDIT_RETENTION_DAYS
    if not isinstance(days, int) or days < 1:
        problems.append(
            Error(
                "CADML_AUDIT_RETENTION_DAYS must be a whole number of days >= 1",
                id="audit.E001",
            )
        )
    try:
        parse_overrides(settings.CADML_AUDIT_RETENTION_OVERRIDES)
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
    if not settings.DEBUG and not settings.CADML_AUDIT_SIGNING_KEY:
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


@register()
def check_audit_kek(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """A missing or malformed KEK, or one that unwraps none of the stored data
    keys, stops the process at start rather than fail on the first event."""
    if not settings.CADML_AUDIT_ENCRYPT and not settings.CADML_AUDIT_KEK:
        return []
    try:
        crypto.keks()
    except crypto.KekError as exc:
        return [
            Error(
                str(exc),
                hint="set CADML_AUDIT_KEK to one or more 32-byte keys (base64), "
                "the newest first",
                id="audit.E004",
            )
        ]
    try:
        live = list(
            AuditDataKey.objects.filter(shredded__isnull=True)
            .order_by("-id")
            .values_list("key_id", flat=True)[:1]
        )
    except DatabaseError:  # not migrated yet, or no database: nothing to check
        return []
    for key_id in live:
        try:
            load_key(key_id)
        except KeyUnavailable as exc:
            return [
                Error(
                    f"CADML_AUDIT_KEK: {exc}",
                    hint="add the KEK that wrapped the stored keys to "
                    "CADML_AUDIT_KEK (after the new one) and run "
                    "manage.py audit_rotate_keys",
                    id="audit.E005",
                )
            ]
    return []
