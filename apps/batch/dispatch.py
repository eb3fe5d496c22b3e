"""Handing a tenant's waiting work to the workers, at most K in flight.

``dispatch`` gives at most K items per tenant (K from the plan) to the workers,
highest job priority first. Each finished item hands its slot to the tenant's
next one, so a tenant never has more than K items queued or running and a big
job of one tenant cannot fill the broker ahead of another tenant's work. The
tenant's queued analyses (large uploads answered 202) share the same K.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.batch.models import IN_FLIGHT, BatchItem, BatchJob
from apps.cad import tasks as cad_tasks
from apps.cad.models import Analysis

log = logging.getLogger(__name__)

Item = BatchItem.Status
Job = BatchJob.Status

Next = tuple[int, int]  # (item id, priority) handed out, not yet sent


def tenant_concurrency(tenant: Tenant) -> int:
    """K: how many items of one tenant may be queued or running at once."""
    table = settings.CADML_BATCH_CONCURRENCY
    return max(1, int(table.get(tenant.plan, table.get("free", 2))))


def dispatch(
    *,
    tenant_id: int,
    freed: int | None = None,
    slice_id: str = "",
    hold: list[Next] | None = None,
) -> int:
    """Hand the tenant's next pending work to the workers, up to K in flight.

    K counts the tenant's batch items and its queued analyses (large uploads
    answered 202) together. A count-based dispatch hands out queued analyses
    first, then items; a finisher's freed slot goes to the next item, and to a
    queued analysis once the tenant's items are all handed out (so an upload
    waits behind its own tenant's batch, never behind anyone else's).

    The tenant row is locked so concurrent dispatchers cannot both fill the same
    free slot (PostgreSQL; SQLite serialises writers anyway). A finisher passes
    ``freed=1`` inside the transaction that ends its item: the slot it frees is
    its own, so it hands out one item without counting, and concurrent
    dispatchers skip each other's choice instead of queueing on the tenant row. A slice
    passes ``hold``: the item chosen for the freed slot is appended to it
    (marked as the slice's) instead of being sent to the broker.
    """
    # savepoint=False: inside a finisher's transaction this is one more step of
    # it, not a nested savepoint (fewer round trips per item).
    with transaction.atomic(savepoint=False):
        pending = BatchItem.objects.filter(
            tenant_id=tenant_id,
            status=Item.PENDING,
            dispatched_at__isnull=True,
            job__status__in=[Job.QUEUED, Job.RUNNING],
        ).order_by("-priority", "job_id", "index")  # index batchitem_dispatch_order
        # A finisher's dispatch does not take the tenant row, so the two kinds
        # can run at once: each skips the items the other has locked instead of
        # both updating them (which PostgreSQL ends as a deadlock).
        pending = pending.select_for_update(skip_locked=True, of=("self",))
        handed = 0
        if freed is not None:
            free = freed
        else:
            counted = _free_slots(tenant_id)
            if counted is None:
                return 0
            free = counted
            if free > 0:
                handed = _dispatch_analyses(tenant_id, free)
                free -= handed
        if free <= 0:
            return handed
        chosen = list(pending.values_list("pk", "priority")[:free])
        if not chosen:
            if freed is not None:
                # No item to take the freed slot: a queued upload may.
                return _dispatch_analyses(tenant_id, freed)
            return handed
        BatchItem.objects.filter(pk__in=[pk for pk, _ in chosen]).update(
            dispatched_at=timezone.now(), slice=slice_id
        )
        if hold is not None:
            hold.extend(chosen)
        else:
            transaction.on_commit(lambda: send_items(chosen))
    return handed + len(chosen)


def _free_slots(tenant_id: int) -> int | None:
    """K minus the tenant's work in flight, with the tenant row locked until
    the caller's transaction ends; None when the tenant is gone."""
    tenant = Tenant.objects.select_for_update().filter(pk=tenant_id).first()
    if tenant is None:
        return None
    in_flight = BatchItem.objects.filter(
        IN_FLIGHT, tenant_id=tenant_id
    ).count() + _analyses_in_flight(tenant_id)
    return tenant_concurrency(tenant) - in_flight


def _analyses_in_flight(tenant_id: int) -> int:

    return Analysis.objects.filter(
        Q(status=Analysis.Status.RUNNING)
        | Q(status=Analysis.Status.QUEUED, dispatched_at__isnull=False),
        tenant_id=tenant_id,
    ).count()


def _dispatch_analyses(tenant_id: int, free: int) -> int:
    """Hand up to ``free`` of the tenant's queued analyses, oldest first, to the
    workers (inside the caller's transaction)."""

    chosen = list(
        Analysis.objects.filter(
            tenant_id=tenant_id,
            status=Analysis.Status.QUEUED,
            dispatched_at__isnull=True,
        )
        .order_by("pk")
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)[:free]
    )
    if not chosen:
        return 0
    Analysis.objects.filter(pk__in=chosen).update(dispatched_at=timezone.now())
    transaction.on_commit(lambda: _send_analyses(chosen))
    return len(chosen)


def _send_analyses(chosen: list[int]) -> None:
    from apps.batch import runner

    for pk in chosen:
        try:
            runner.enqueue(cad_tasks.cad_analysis_run, (pk,), priority=5)
        except Exception:
            log.warning("could not enqueue analysis %s", pk, exc_info=True)
            Analysis.objects.filter(pk=pk, status=Analysis.Status.QUEUED).update(
                dispatched_at=None
            )


def send_items(chosen: list[Next]) -> None:
    """Enqueue dispatched ``(item id, job priority)`` pairs on the workers."""
    from apps.batch import runner, tasks

    for pk, priority in chosen:
        try:
            runner.enqueue(tasks.batch_item_run, (pk,), priority=priority)
        except Exception:
            # Broker unreachable: the item goes back to undispatched; the next
            # finisher or the reaper hands it out again.
            log.warning("could not enqueue batch item %s", pk, exc_info=True)
            BatchItem.objects.filter(pk=pk, status=Item.PENDING).update(
                dispatched_at=None
            )
