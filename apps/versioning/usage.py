"""Counting calls per version per tenant: a Prometheus counter and ApiUsage rows.

The request path only bumps an in-process tally; it is written to the database
(one ``UPDATE ... SET calls = calls + n`` per tenant and version) at most every
``CADML_API_USAGE_FLUSH_S`` seconds, so counting costs no query on most requests.
A documented imperfection: a process that dies loses at most that many seconds
of counts. Prometheus has the exact live figures.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter as Tally
from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from prometheus_client import Counter

from apps.accounts.models import Tenant
from apps.versioning.models import ApiUsage

logger = logging.getLogger(__name__)

API_CALLS = Counter(
    "cadml_api_calls",
    "API calls by version and tenant (tenant '-' for anonymous calls)",
    ["version", "tenant"],
)

_lock = threading.Lock()
_pending: Tally[tuple[int, str, date]] = Tally()
_last_seen: dict[tuple[int, str, date], datetime] = {}
_last_flush = time.monotonic()


def record_call(
    *, tenant_id: int | None, tenant_slug: str | None, version: str
) -> None:
    """Count one call; flush the tally when it is old enough."""
    global _last_flush
    API_CALLS.labels(version=version, tenant=tenant_slug or "-").inc()
    if tenant_id is None:
        return
    now = timezone.now()
    key = (tenant_id, version, now.date())
    with _lock:
        _pending[key] += 1
        _last_seen[key] = now
        due = time.monotonic() - _last_flush >= settings.CADML_API_USAGE_FLUSH_S
        if due:
            _last_flush = time.monotonic()
    if due:
        flush()


def flush() -> None:
    """Write the pending tally to the database (also called at shutdown by tests
    and the command)."""
    with _lock:
        batch = dict(_pending)
        seen = dict(_last_seen)
        _pending.clear()
        _last_seen.clear()
    for (tenant_id, version, day), calls in batch.items():
        try:
            _add(tenant_id, version, day, calls, seen[(tenant_id, version, day)])
        except Exception:  # counting must never fail a request
            logger.exception("could not record API usage for tenant %s", tenant_id)


def _add(tenant_id: int, version: str, day: date, calls: int, at: datetime) -> None:
    updated = ApiUsage.objects.filter(
        tenant_id=tenant_id, version=version, day=day
    ).update(calls=F("calls") + calls, last_call_at=at)
    if updated:
        return
    if not Tenant.objects.filter(pk=tenant_id).exists():
        return  # deleted since the call: nothing to count against
    try:
        with transaction.atomic():
            ApiUsage.objects.create(
                tenant_id=tenant_id,
                version=version,
                day=day,
                calls=calls,
                last_call_at=at,
            )
    except IntegrityError:  # another process created the row first
        ApiUsage.objects.filter(tenant_id=tenant_id, version=version, day=day).update(
            calls=F("calls") + calls, last_call_at=at
        )
