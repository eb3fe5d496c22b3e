from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from apps.audit.models import AuditEvent


@pytest.fixture
def attacker_sql() -> Callable[..., None]:
    """Run SQL as someone with direct database access would: on PostgreSQL the
    append-only triggers are switched off first (inside the test transaction, so
    they come back when it rolls back)."""

    def run(sql: str, params: list[Any] | None = None) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                for table in ("audit_auditevent", "audit_auditdigest"):
                    cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            cursor.execute(sql, params or [])
            if connection.vendor == "postgresql":
                for table in ("audit_auditevent", "audit_auditdigest"):
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")

    return run


@pytest.fixture
def events() -> Callable[..., list[AuditEvent]]:
    def of(**filters: Any) -> list[AuditEvent]:
        return list(AuditEvent.objects.filter(**filters).order_by("seq"))

    return of
