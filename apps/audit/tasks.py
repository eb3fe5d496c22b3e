"""Celery beat entry points: seal every 5 minutes, purge daily (see settings)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from apps.audit.context import audit_actor
from apps.audit.models import AuditDigest, AuditEvent
from apps.audit.services import audit_purge, audit_seal
from cadml import metrics


@shared_task(name="apps.audit.tasks.audit_seal_task")
def audit_seal_task() -> int:
    with audit_actor(system="celery:audit_seal"):
        sealed = sum(d.event_count for d in audit_seal())
    # Set here, on a worker (beat has no metrics port): age of the oldest event
    # no digest covers yet, 0 when everything is sealed.
    head = AuditDigest.objects.order_by("-id").values_list("last_seq", flat=True)
    oldest = (
        AuditEvent.objects.filter(seq__gt=head.first() or 0)
        .order_by("seq")
        .values_list("ts", flat=True)
        .first()
    )
    lag = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    metrics.audit_seal_lag.set(max(lag, 0.0))
    return sealed


@shared_task(name="apps.audit.tasks.audit_purge_task")
def audit_purge_task() -> int:
    with audit_actor(system="celery:audit_purge"):
        return audit_purge().purged
