"""Running batch items: claim -> process -> finish, in slices.

A worker's task runs a slice: its item, then the tenant's next ones, until the
slice budget is spent. Each item is claimed (pending, or running with a dead
worker), analysed by the CAD core, and finished: its analysis stored by the CAD
app, the item ended, the job's counter moved with ``F()`` and the tenant's slot
handed on, in one transaction. Whoever moves the last counter finalises the job
(``completion.py``; a conditional UPDATE makes that exactly one process).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypedDict

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from apps.batch import completion, events, sql
from apps.batch.dispatch import Next, dispatch, send_items
from apps.batch.models import IN_FLIGHT, BatchItem, BatchJob
from apps.cad.models import Analysis
from apps.cad.services import (
    analyses_store,
    analysis_compute,
    analysis_insert,
    analysis_stored,
    search_index_changed,
)
from cadml import metrics, telemetry
from cadml.lib.errors import DomainError
from cadml.lib.transient import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

Item = BatchItem.Status
Job = BatchJob.Status

# Infrastructure hiccups worth retrying; anything else is final for the item.


class Handed(NamedTuple):
    """The tenant's item a finished item handed its slot to (not yet sent)."""

    item_id: int
    priority: int
    # Whether an item of a higher priority waits for a worker; None: not asked.
    higher_waiting: bool | None = None
    # The item, claimed for the slice by the same finish (with its job, tenant
    # and drawing), when the slice asked for that and may run it.
    claimed: BatchItem | None = None


class JobCounters(TypedDict):
    """The job's counters right after one of its items ended."""

    total: int
    done: int
    failed: int
    skipped: int
    status: str
    last_progress_at: datetime | None


def items_slice_run(*, item_id: int, slice_id: str = "") -> int:
    """Run ``item_id``, then the tenant's next items in this same task.

    A slice holds one of its tenant's K slots, as one item did: each finished
    item hands the slot to the tenant's next item (priority, then submission
    order), and the slice runs it instead of publishing it. Before every claim
    the slice stops and publishes that item when its budget is spent
    (``CADML_BATCH_SLICE_MS``, ``CADML_BATCH_SLICE_ITEMS``) or an item of a
    higher priority waits in the broker for a worker; a cancelled job's item is
    refused by the claim itself. Within the budget, the finish that hands the
    slot on also claims the next item for the slice (one statement and one
    commit per item, as a single analysis stored costs). ``slice_id`` (the
    Celery task id) marks the items the slice holds, so its redelivered message
    (worker killed, or a transient error's retry) takes up the item that was in
    hand. Returns how many items the slice ran.
    """
    slice_id = slice_id or uuid.uuid4().hex
    deadline = time.monotonic() + int(settings.CADML_BATCH_SLICE_MS) / 1000
    limit = max(1, int(settings.CADML_BATCH_SLICE_ITEMS))
    stored: list[Analysis] = []
    current, claimed, ran = item_id, None, 0

    def within_budget() -> bool:
        # Asked as the item in hand ends: may the slice run one more?
        return ran + 1 < limit and time.monotonic() < deadline

    try:
        while True:
            nxt = item_process(
                item_id=current,
                slice_id=slice_id,
                keep_next=True,
                recover=ran == 0,
                stored=stored,
                claimed=claimed,
                claim_next=within_budget,
            )
            ran += 1
            if nxt is None:
                return ran
            if nxt.claimed is not None:
                current, claimed = nxt.item_id, nxt.claimed
                continue
            if ran >= limit or time.monotonic() >= deadline or _should_yield(nxt):
                send_items([nxt[:2]])
                return ran
            current, claimed = nxt.item_id, None
    finally:
        # The search index is told once per slice rather than per item. A
        # worker killed mid-slice skips it; its redelivered slice (same
        # tenant) does it when it ends.
        for tenant_id, feature_version in {
            (a.tenant_id, a.feature_version) for a in stored
        }:
            search_index_changed(tenant_id=tenant_id, feature_version=feature_version)


def _should_yield(nxt: Handed) -> bool:
    if nxt.higher_waiting is not None:
        return nxt.higher_waiting
    return _higher_priority_waiting(nxt.priority)


def _higher_priority_waiting(priority: int) -> bool:
    """An item of a higher priority (any tenant) is handed to the broker and
    waits for a worker (partial index batchitem_in_flight: K rows a tenant).
    One whose message the broker lost (the reaper's stale ones) does not
    count: it would make every slice yield until the reaper ran."""
    return BatchItem.objects.filter(
        status=Item.PENDING, dispatched_at__gt=_stale_before(), priority__gt=priority
    ).exists()


def _stale_before(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(
        seconds=float(settings.CADML_BATCH_DISPATCH_STALE_S)
    )


def item_process(
    *,
    item_id: int,
    slice_id: str = "",
    keep_next: bool = False,
    recover: bool = False,
    stored: list[Analysis] | None = None,
    claimed: BatchItem | None = None,
    claim_next: Callable[[], bool] | None = None,
) -> Handed | None:
    """Run one item; safe to call again for the same item (redelivery).

    Only an item that is pending, or running (its worker died), is claimed; an
    item that already ended is left alone, and only the first finisher moves the
    job's counters, so every item counts exactly once. With ``keep_next`` the
    item handed the freed slot is returned instead of published; ``recover``
    (a slice's first item): if the item ended, the item the slice held is taken
    up instead. ``stored``: the item's new analysis is appended to it, for the
    caller to tell the search index once for many (``search_index_changed``).
    ``claimed``: the item, already claimed by the previous item's finish.
    ``claim_next`` (with ``keep_next``): asked as the item ends; when true, the
    finish also claims the item it hands the slot to, unless an item of a
    higher priority waits (``Handed.claimed``).
    """
    with (
        telemetry.span("batch.item", item_id=item_id),
        metrics.timed(metrics.batch_item_duration),
    ):
        item = claimed or _claim_or_recover(
            item_id=item_id, slice_id=slice_id, recover=recover
        )
        if item is None:
            return None
        return _item_run(
            item,
            slice_id=slice_id,
            keep_next=keep_next,
            stored=stored,
            claim_next=claim_next,
        )


def _claim_or_recover(*, item_id: int, slice_id: str, recover: bool) -> Any:
    item = _item_claim(item_id, slice_id)
    if item is None and recover:
        held = _held_item(item_id=item_id, slice_id=slice_id)
        if held is not None:
            item = _item_claim(held, slice_id)
    if item is None:
        # Already ended (a redelivered message) or cancelled: hand the
        # tenant's slot on.
        tenant_id = (
            BatchItem.objects.filter(pk=item_id)
            .values_list("tenant_id", flat=True)
            .first()
        )
        if tenant_id is not None:
            dispatch(tenant_id=tenant_id)
    return item


def _held_item(*, item_id: int, slice_id: str) -> int | None:
    """The in-flight item a slice held when its worker was lost, if any."""
    if not slice_id:
        return None
    tenant_id = (
        BatchItem.objects.filter(pk=item_id).values_list("tenant_id", flat=True).first()
    )
    if tenant_id is None:
        return None
    return (
        BatchItem.objects.filter(IN_FLIGHT, tenant_id=tenant_id, slice=slice_id)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def _item_run(
    item: BatchItem,
    *,
    slice_id: str,
    keep_next: bool,
    stored: list[Analysis] | None,
    claim_next: Callable[[], bool] | None = None,
) -> Handed | None:
    """Analyse a claimed item and finish it with its outcome."""
    finish: dict[str, Any] = {
        "slice_id": slice_id,
        "keep_next": keep_next,
        "claim_next": claim_next,
    }
    telemetry.set_attributes(job_id=item.job_id)
    _job_mark_started(item.job)
    refused = _refusal(item)
    if refused is not None:
        return item_finish(
            item, status=Item.FAILED, code=refused[0], message=refused[1], **finish
        )
    drawing = item.drawing
    assert drawing is not None  # _refusal refused an item without its drawing
    try:
        # Computed here, stored by the finish: with the item's end, in one
        # transaction.
        analysis = analysis_compute(drawing=drawing)
    except DomainError as exc:
        # Over the isolation limits (memory, time, size) lands here too: the
        # item fails, the slice goes on.
        code, message = exc.code, exc.message
    except SoftTimeLimitExceeded:
        code, message = "timeout", "the item took longer than its time limit"
    except TRANSIENT_ERRORS:
        metrics.batch_items.labels("retried").inc()
        raise  # the task retries with backoff; the item stays claimed
    except Exception as exc:
        # A bug, not the file's fault: fail the item (retry-failed can run it
        # again once fixed) rather than leave it running until the reaper.
        log.exception("batch item %s failed unexpectedly", item.pk)
        code = "internal_error"
        message = f"unexpected error ({type(exc).__name__}); retry later"
    else:
        nxt = item_finish(item, status=Item.SUCCEEDED, analysis=analysis, **finish)
        if stored is None:
            analysis_stored(analysis=analysis)
        else:
            # Findable (as a duplicate too) by the slice's next items.
            analysis_stored(analysis=analysis, search_index=False)
            stored.append(analysis)
        return nxt
    return item_finish(item, status=Item.FAILED, code=code, message=message, **finish)


def _refusal(item: BatchItem) -> tuple[str, str] | None:
    """(code, message) when the item cannot run at all."""
    if item.attempts > _max_attempts():
        return (
            "worker_lost",
            f"the worker running this item was lost {item.attempts - 1} times",
        )
    if item.drawing is None:
        return "drawing_missing", "the drawing was deleted"
    return None


def _max_attempts() -> int:
    return int(settings.CADML_BATCH_MAX_ATTEMPTS)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _item_claim(item_id: int, slice_id: str = "") -> BatchItem | None:
    """Mark a pending item (or one whose worker died) running; None if it ended."""
    started = timezone.now()
    if sql.enabled():
        return sql.item_claim(
            item_id=item_id, started=started, worker=_worker_name(), slice_id=slice_id
        )
    if not _claim_update(
        item_id,
        started=started,
        slice_id=slice_id,
        statuses=(Item.PENDING, Item.RUNNING),
    ):
        return None
    return _claimed_item(item_id)


def _claim_update(
    item_id: int,
    *,
    started: datetime,
    slice_id: str,
    statuses: tuple[str, ...] = (Item.PENDING,),
) -> bool:
    """The ORM path's claim: the item running for this worker and slice."""
    return bool(
        BatchItem.objects.filter(pk=item_id, status__in=statuses).update(
            status=Item.RUNNING,
            attempts=F("attempts") + 1,
            started=started,
            worker=_worker_name(),
            slice=slice_id,
        )
    )


def _claimed_item(item_id: int) -> BatchItem:
    return BatchItem.objects.select_related("job", "job__tenant", "drawing").get(
        pk=item_id
    )


def _job_mark_started(job: BatchJob) -> None:
    if job.status != Job.QUEUED:
        return  # the common case: no query
    now = timezone.now()
    if BatchJob.objects.filter(pk=job.pk, status=Job.QUEUED).update(
        status=Job.RUNNING, started=now
    ):
        job.status, job.started = Job.RUNNING, now
        events.publish(
            completion.channels(job),
            "batch.started",
            {"job_id": job.pk, "total": job.total, "priority": job.priority},
        )


def item_finish(
    item: BatchItem,
    *,
    status: str,
    analysis: Analysis | None = None,
    code: str = "",
    message: str = "",
    slice_id: str = "",
    keep_next: bool = False,
    claim_next: Callable[[], bool] | None = None,
) -> Handed | None:
    """End the item (counted once), storing ``analysis``, its new unsaved
    analysis, in the same transaction; then the events. The tenant's item
    that takes the freed slot is published, or returned with ``keep_next``;
    claimed for the slice by the same transaction as well when ``claim_next``
    says so and no item of a higher priority waits."""
    claim = keep_next and claim_next is not None and claim_next()
    now = timezone.now()
    duration = (now - item.started).total_seconds() * 1000 if item.started else None
    gap = timedelta(seconds=1.0 / float(settings.CADML_BATCH_PROGRESS_HZ))
    finish = _item_finish_sql if sql.enabled() else _item_finish_orm
    held: list[Handed] = []
    row = finish(
        item,
        status=status,
        analysis=analysis,
        code=code[:100],
        message=message,
        now=now,
        duration=duration,
        gate=now - gap,
        slice_id=slice_id,
        claim=claim,
        hold=held,
    )
    nxt = held[0] if held else None
    if nxt is not None and not keep_next:
        send_items([nxt[:2]])
        nxt = None
    if row is not None:
        _item_ended(item, row=row, status=status, code=code, message=message, now=now)
    return nxt


def _item_ended(
    item: BatchItem,
    *,
    row: JobCounters,
    status: str,
    code: str,
    message: str,
    now: datetime,
) -> None:
    """After the finish committed: metrics, the item's and the job's events,
    and the job's end when this was its last item."""
    job = item.job
    metrics.batch_items.labels(status).inc()
    if status == Item.FAILED:
        events.publish(
            completion.channels(job),
            "batch.item_failed",
            {
                "job_id": job.pk,
                "item": item.index,
                "name": item.name,
                "code": code,
                "message": message,
            },
        )
    processed = row["done"] + row["failed"] + row["skipped"]
    if processed >= row["total"]:
        completion.job_finalize_if_complete(job_id=job.pk)
    elif row["last_progress_at"] == now:
        job.total = row["total"]
        job.done = row["done"]
        job.failed = row["failed"]
        job.skipped = row["skipped"]
        job.status = row["status"]
        events.publish(
            completion.channels(job), "batch.progress", completion.progress_data(job)
        )


def _item_finish_sql(
    item: BatchItem,
    *,
    status: str,
    analysis: Analysis | None,
    code: str,
    message: str,
    now: datetime,
    duration: float | None,
    gate: datetime,
    slice_id: str,
    claim: bool,
    hold: list[Handed],
) -> JobCounters | None:
    """PostgreSQL: what ``_item_finish_orm`` does, as one statement
    (``sql.py``) with the analysis' INSERT."""
    finish: dict[str, Any] = {
        "item_id": item.pk,
        "job": item.job,
        "status": status,
        "code": code,
        "message": message,
        "now": now,
        "duration_ms": duration,
        "progress_gate": gate,
        "stale_before": _stale_before(now),
        "slice_id": slice_id,
        "claim_next": claim,
        "worker": _worker_name() if claim else "",
    }
    # The analysis is written by the finish statement itself: one round trip
    # and one commit (autocommit) for the item's end and its analysis.
    finished = sql.item_finish(
        analysis=None if analysis is None else analysis_insert(analysis=analysis),
        **finish,
    )
    if finished is not None and finished.next_item is not None:
        # The item handed on and its priority come from the same row.
        assert finished.next_priority is not None
        hold.append(
            Handed(
                finished.next_item,
                finished.next_priority,
                finished.higher_waiting,
                finished.next_claimed,
            )
        )
    else:
        # Not ended here, or no item took the freed slot: a queued upload of
        # the tenant may.
        dispatch(tenant_id=item.tenant_id)
    if finished is None:
        return None
    return JobCounters(
        total=finished.total,
        done=finished.done,
        failed=finished.failed,
        skipped=finished.skipped,
        status=finished.status,
        last_progress_at=finished.last_progress_at,
    )


def _item_finish_orm(
    item: BatchItem,
    *,
    status: str,
    analysis: Analysis | None,
    code: str,
    message: str,
    now: datetime,
    duration: float | None,
    gate: datetime,
    slice_id: str,
    claim: bool,
    hold: list[Handed],
) -> JobCounters | None:
    # One transaction per finished item: its new analysis, the item, the job's
    # counter, the progress throttle, the tenant's next dispatch and (with
    # ``claim``) that item's claim by the slice.
    pairs: list[Next] = []
    higher: bool | None = None
    claimed = False
    with transaction.atomic():
        if analysis is not None:
            analyses_store(analyses=[analysis], after_store=False)
        moved = BatchItem.objects.filter(pk=item.pk, status=Item.RUNNING).update(
            status=status,
            analysis=analysis,
            error_code=code,
            error_message=message,
            finished=now,
            duration_ms=duration,
        )
        if not moved:
            dispatch(tenant_id=item.tenant_id)
            return None
        row = _job_count(item.job_id, status=status, now=now, gate=gate)
        dispatch(tenant_id=item.tenant_id, freed=1, slice_id=slice_id, hold=pairs)
        if claim and pairs:
            higher = _higher_priority_waiting(pairs[0][1])
            claimed = not higher and _claim_update(
                pairs[0][0], started=now, slice_id=slice_id
            )
    handed = [Handed(pk, priority) for pk, priority in pairs]
    if handed and higher is not None:
        handed[0] = handed[0]._replace(higher_waiting=higher)
    if claimed:
        handed[0] = handed[0]._replace(claimed=_claimed_item(handed[0].item_id))
    hold.extend(handed)
    return row


def _job_count(
    job_id: int, *, status: str, now: datetime, gate: datetime
) -> JobCounters:
    """Count the ended item on its job (and take the progress throttle when
    its gap has passed); the job's counters after it."""
    counter = "done" if status == Item.SUCCEEDED else "failed"
    BatchJob.objects.filter(pk=job_id).update(
        **{counter: F(counter) + 1},
        last_progress_at=Case(
            When(
                Q(last_progress_at__isnull=True) | Q(last_progress_at__lte=gate),
                then=Value(now),
            ),
            default=F("last_progress_at"),
        ),
    )
    return BatchJob.objects.filter(pk=job_id).values(
        "total", "done", "failed", "skipped", "status", "last_progress_at"
    )[0]


def job_settle(*, job_id: int, tenant_id: int) -> None:
    """After a job's items changed (submitted, skipped): hand out the tenant's
    work, and end the job if nothing of it is left to run."""
    dispatch(tenant_id=tenant_id)
    completion.job_finalize_if_complete(job_id=job_id)
