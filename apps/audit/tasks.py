"""Celery beat entry points: seal every 5 minutes, purge daily (see settings)."""

from __future__ import annotations

from celery import shared_task

from apps.audit.context import audit_actor
from apps.audit.services import audit_purge, audit_seal


@shared_task(name="apps.audit.tasks.audit_seal_task")
def audit_seal_task() -> int:
    with audit_actor(system="celery:audit_seal"):
        return sum(d.event_count for d in audit_seal())


@shared_task(name="apps.audit.tasks.audit_purge_task")
def audit_purge_task() -> int:
    with audit_actor(system="celery:audit_purge"):
        return audit_purge().purged
