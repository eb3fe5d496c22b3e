"""The reaper (Celery beat): recover work whose worker or broker message was
lost, end jobs nobody ended, and set the queue gauges."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from apps.batch import completion
from apps.batch.dispatch import dispatch
from apps.batch.execution import item_finish
from apps.batch.models import BatchItem, BatchJob
from apps.cad.models import Analysis
from cadml import metrics

Item = BatchItem.Status
Job = BatchJob.Status


def items_reap() -> dict[str, int]:
    """Beat: recover items whose worker or broker message was lost, end stuck jobs."""
    now = timezone.now()
    hard = float(settings.CADML_BATCH_ITEM_TIME_LIMIT_S)
    stale = float(settings.CADML_BATCH_DISPATCH_STALE_S)
    tenants: set[int] = set()
    failed, requeued = _items_recover(now=now, hard=hard, stale=stale, tenants=tenants)
    lost, back = _analyses_recover(now=now, hard=hard, stale=stale, tenants=tenants)
    failed += lost
    requeued += back
    for tenant_id in tenants:
        dispatch(tenant_id=tenant_id)
    ended = 0
    for job_id in BatchJob.objects.filter(status__in=BatchJob.ACTIVE).values_list(
        "pk", flat=True
    ):
        ended += completion.job_finalize_if_complete(job_id=job_id)
    _gauges(hard=hard)
    return {"requeued": requeued, "failed": failed, "ended": ended}


def _items_recover(
    *, now: datetime, hard: float, stale: float, tenants: set[int]
) -> tuple[int, int]:
    """Items running past their hard limit (worker lost) run again, or fail
    once their attempts are used up; items handed to a broker that lost them
    are handed out again. Adds the tenants to dispatch; (failed, requeued)."""
    stuck_running = BatchItem.objects.filter(
        status=Item.RUNNING, started__lt=now - timedelta(seconds=hard + 30)
    )
    failed = requeued = 0
    for item in stuck_running.select_related("job", "job__tenant"):
        tenants.add(item.tenant_id)
        if item.attempts >= int(settings.CADML_BATCH_MAX_ATTEMPTS):
            item_finish(
                item,
                status=Item.FAILED,
                code="worker_lost",
                message="the item's worker was lost and the retries are used up",
            )
            failed += 1
        else:
            requeued += BatchItem.objects.filter(
                pk=item.pk, status=Item.RUNNING
            ).update(status=Item.PENDING, dispatched_at=None)
    lost = BatchItem.objects.filter(
        status=Item.PENDING,
        dispatched_at__lt=now - timedelta(seconds=stale),
    )
    tenants |= set(lost.values_list("tenant_id", flat=True))
    requeued += lost.update(dispatched_at=None)
    # Tenants with work nobody handed out (an enqueue failed while the broker
    # was down) get a dispatch too.
    tenants |= set(
        BatchItem.objects.filter(
            status=Item.PENDING,
            dispatched_at__isnull=True,
            job__status__in=[Job.QUEUED, Job.RUNNING],
        )
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    return failed, requeued


def _analyses_recover(
    *, now: datetime, hard: float, stale: float, tenants: set[int]
) -> tuple[int, int]:
    """Queued analyses (large uploads) whose message was lost go back to
    waiting, and tenants with queued analyses nobody handed out get a dispatch
    (the one that would have freed their slot may have been lost)."""
    # One that started and never ended lost its worker (Celery redelivers a
    # lost task; this is for when that did not happen either). A late task
    # that does end still stores its result over this.
    lost_running = Analysis.objects.filter(
        status=Analysis.Status.RUNNING,
        dispatched_at__lt=now - timedelta(seconds=stale + hard + 30),
    )
    tenants |= set(lost_running.values_list("tenant_id", flat=True))
    failed = lost_running.update(
        status=Analysis.Status.FAILED,
        error="The analysis' worker was lost; analyse the drawing again.",
        error_code="worker_lost",
        finished=now,
    )
    queued = Analysis.objects.filter(status=Analysis.Status.QUEUED)
    requeued = queued.filter(dispatched_at__lt=now - timedelta(seconds=stale)).update(
        dispatched_at=None
    )
    tenants |= set(
        queued.filter(dispatched_at__isnull=True)
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    return failed, requeued


def _gauges(*, hard: float) -> None:
    # This runs on a worker (beat has no metrics port): the queue gauges.
    # Two counts, each the predicate of a partial index (dispatch order, in
    # flight): no scan of every item ever submitted.
    pending = BatchItem.objects.filter(status=Item.PENDING)
    metrics.batch_queue_depth.labels("celery").set(
        pending.filter(dispatched_at__isnull=True).count()
        + pending.filter(dispatched_at__isnull=False).count()
    )
    metrics.batch_stuck_items.set(
        BatchItem.objects.filter(
            status=Item.RUNNING, started__lt=timezone.now() - timedelta(seconds=hard)
        ).count()
    )
