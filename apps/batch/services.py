"""Batch jobs: submission, dispatch, per-item execution, control and completion.

Flow: ``job_submit`` writes the job and its items in one transaction; on commit
``dispatch`` hands at most K items per tenant (K from the plan) to the workers,
highest job priority first. Each finished item dispatches the tenant's next one,
so a tenant never has more than K items queued or running and a big job of one
tenant cannot fill the broker ahead of another tenant's work. Counters move with
``F()``; whoever moves the last counter finalises the job (a conditional UPDATE
makes that exactly one process).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.accounts.models import Tenant
from apps.batch import events, sql, webhooks
from apps.batch.models import IN_FLIGHT, BatchItem, BatchJob, WebhookDelivery
from cadml import metrics, telemetry
from cadml.lib import params
from cadml.lib.errors import Conflict, DomainError, InvalidInput, NotFound

log = logging.getLogger(__name__)

Item = BatchItem.Status
Job = BatchJob.Status

# Infrastructure hiccups worth retrying; anything else is final for the item.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
)

DEFAULT_CONCURRENCY = {"free": 2, "pro": 4, "enterprise": 8, "internal": 8}


@dataclass
class Upload:
    name: str
    content: bytes
    # Set by label_from=folder: the drawing is labelled with it (source "job").
    label: str | None = None


def tenant_concurrency(tenant: Tenant) -> int:
    """K: how many items of one tenant may be queued or running at once."""
    table = getattr(settings, "CADML_BATCH_CONCURRENCY", DEFAULT_CONCURRENCY)
    return max(1, int(table.get(tenant.plan, table.get("free", 2))))


def max_items() -> int:
    return int(getattr(settings, "CADML_BATCH_MAX_ITEMS", 1000))


def _request_hash(
    *,
    kind: str,
    priority: int,
    callback_url: str,
    options: dict[str, Any],
    drawing_ids: list[int],
    uploads: list[Upload],
) -> str:
    body = {
        "kind": kind,
        "priority": priority,
        "callback_url": callback_url,
        "options": options,
        "drawings": drawing_ids,
        "files": [
            [u.name, hashlib.sha256(u.content).hexdigest()]
            + ([u.label] if u.label else [])
            for u in uploads
        ],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _existing(tenant: Tenant, key: str, request_hash: str) -> BatchJob | None:
    job = BatchJob.objects.filter(tenant=tenant, idempotency_key=key).first()
    if job is not None and job.request_hash != request_hash:
        raise Conflict(
            "this Idempotency-Key was already used for a different submission; "
            "use a new key for a new job",
            code="idempotency_key_reused",
        )
    return job


# Shared with the REST serializer, so REST and gRPC refuse in the same words.
KIND_MESSAGE = f"kind must be one of {', '.join(BatchJob.Kind.values)}"
PRIORITY_MESSAGE = "priority must be between 0 and 9"


def job_submit(
    *,
    tenant: Tenant,
    user: Any,
    uploads: list[Upload] | None = None,
    drawing_ids: list[int] | None = None,
    kind: str = BatchJob.Kind.ANALYZE,
    priority: int = 5,
    callback_url: str = "",
    options: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> tuple[BatchJob, bool]:
    """Create a job (or return the one an earlier identical request created).

    Returns ``(job, created)``. Files are stored as drawings first; a file the
    CAD core refuses becomes an item that failed with the core's message.
    """
    from apps.cad.models import Drawing
    from apps.cad.services import drawing_create

    uploads = uploads or []
    drawing_ids = drawing_ids or []
    options = params.json_value(options or {}, field="options")
    idempotency_key = params.text(
        idempotency_key,
        field="idempotency_key",
        max_length=BatchJob._meta.get_field("idempotency_key").max_length,
    )
    if kind not in BatchJob.Kind.values:
        raise InvalidInput(KIND_MESSAGE, code="invalid_kind", field="kind")
    if not 0 <= priority <= 9:
        raise InvalidInput(PRIORITY_MESSAGE, code="invalid_priority", field="priority")
    count = len(uploads) + len(drawing_ids)
    if count == 0:
        raise InvalidInput(
            "nothing to do: send files, one zip, or a list of drawing ids",
            code="empty_submission",
        )
    if count > max_items():
        raise InvalidInput(
            f"{count} items submitted; a job takes at most {max_items()}",
            code="too_many_items",
        )
    if callback_url:
        webhooks.url_check(callback_url)
    digest = _request_hash(
        kind=kind,
        priority=priority,
        callback_url=callback_url,
        options=options,
        drawing_ids=drawing_ids,
        uploads=uploads,
    )
    if idempotency_key:
        existing = _existing(tenant, idempotency_key, digest)
        if existing is not None:
            return existing, False

    drawings: dict[int, Any] = {}
    if drawing_ids:
        drawings = {
            d.pk: d for d in Drawing.objects.filter(tenant=tenant, pk__in=drawing_ids)
        }
        missing = sorted({i for i in drawing_ids if i not in drawings})
        if missing:
            raise NotFound(
                f"drawings not found: {', '.join(map(str, missing[:20]))}",
                code="drawing_not_found",
            )

    # (name, drawing or None, error code, error message)
    rows: list[tuple[str, Any, str, str]] = [
        (getattr(drawings[i], "name", ""), drawings[i], "", "") for i in drawing_ids
    ]
    to_label: list[tuple[Any, str]] = []
    for upload in uploads:
        try:
            drawing, _created = drawing_create(
                tenant=tenant,
                uploaded_by=user,
                name=upload.name,
                content=upload.content,
            )
        except DomainError as exc:
            rows.append((upload.name, None, exc.code, exc.message))
        else:
            rows.append((upload.name, drawing, "", ""))
            if upload.label:
                to_label.append((drawing, upload.label))

    now = timezone.now()
    failed_at_submit = sum(1 for r in rows if r[1] is None)
    try:
        with transaction.atomic():
            job = BatchJob.objects.create(
                tenant=tenant,
                created_by=user if getattr(user, "pk", None) else None,
                kind=kind,
                priority=priority,
                callback_url=callback_url,
                options=options,
                idempotency_key=idempotency_key or None,
                request_hash=digest,
                total=len(rows),
                failed=failed_at_submit,
            )
            BatchItem.objects.bulk_create(
                [
                    BatchItem(
                        job=job,
                        tenant=tenant,
                        priority=priority,
                        index=i,
                        name=name[:500],
                        drawing=drawing,
                        status=Item.PENDING if drawing is not None else Item.FAILED,
                        error_code=code,
                        error_message=message,
                        finished=None if drawing is not None else now,
                    )
                    for i, (name, drawing, code, message) in enumerate(rows)
                ],
                batch_size=500,
            )
            if to_label:
                from apps.cad.labels import drawings_label_many

                drawings_label_many(drawings=to_label, source="job", actor=user)
            transaction.on_commit(lambda: _after_submit(job.pk, tenant.pk))
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the race.
        if idempotency_key:
            existing = _existing(tenant, idempotency_key, digest)
            if existing is not None:
                return existing, False
        raise
    metrics.batch_jobs.labels("submitted").inc()
    if failed_at_submit:
        metrics.batch_items.labels("failed").inc(failed_at_submit)
    events.audit(
        "batch.submitted",
        tenant=tenant,
        job_id=job.pk,
        user=user,
        details={"items": job.total, "priority": priority, "kind": kind},
    )
    return job, True


def refeaturize_submit(
    *, tenant: Tenant, user: Any, feature_version: str, priority: int = 3
) -> list[BatchJob]:
    """Re-analyse the tenant's drawings that have no ``feature_version`` vector
    yet, as batch jobs (progress, cancel, retry as for any job). Each drawing
    gets a new analysis; the old ones stay. Running it again submits only what
    is still missing, so a cancelled run resumes where it stopped."""
    from apps.cad.features import SLOTS
    from apps.cad.selectors import drawings_needing_features

    if feature_version not in SLOTS or feature_version.startswith("mesh"):
        raise InvalidInput(
            f"feature_version must be a drawing version: "
            f"{', '.join(v for v in SLOTS if not v.startswith('mesh'))}",
            code="unknown_feature_version",
        )
    ids = list(
        drawings_needing_features(
            tenant=tenant, feature_version=feature_version
        ).values_list("pk", flat=True)
    )
    jobs = []
    step = max_items()
    for start in range(0, len(ids), step):
        job, _ = job_submit(
            tenant=tenant,
            user=user,
            drawing_ids=ids[start : start + step],
            priority=priority,
            options={"purpose": "refeaturize", "feature_version": feature_version},
        )
        jobs.append(job)
    return jobs


def _after_submit(job_id: int, tenant_id: int) -> None:
    dispatch(tenant_id=tenant_id)
    # A job whose every file was refused at upload is already complete.
    job_finalize_if_complete(job_id=job_id)


def dispatch(
    *,
    tenant_id: int,
    freed: int | None = None,
    slice_id: str = "",
    hold: list[tuple[int, int]] | None = None,
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
    its own, so it hands out one item without counting, and concurrent finishers
    skip each other's choice instead of queueing on the tenant row. A slice
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
        handed = 0
        if freed is not None:
            free = freed
            pending = pending.select_for_update(skip_locked=True, of=("self",))
        else:
            tenant = Tenant.objects.select_for_update().filter(pk=tenant_id).first()
            if tenant is None:
                return 0
            in_flight = BatchItem.objects.filter(
                IN_FLIGHT, tenant_id=tenant_id
            ).count() + _analyses_in_flight(tenant_id)
            free = tenant_concurrency(tenant) - in_flight
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
            transaction.on_commit(lambda: _send_items(chosen))
    return handed + len(chosen)


def _analyses_in_flight(tenant_id: int) -> int:
    from apps.cad.models import Analysis

    return Analysis.objects.filter(
        Q(status=Analysis.Status.RUNNING)
        | Q(status=Analysis.Status.QUEUED, dispatched_at__isnull=False),
        tenant_id=tenant_id,
    ).count()


def _dispatch_analyses(tenant_id: int, free: int) -> int:
    """Hand up to ``free`` of the tenant's queued analyses, oldest first, to the
    workers (inside the caller's transaction)."""
    from apps.cad.models import Analysis

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
    from apps.cad import tasks as cad_tasks
    from apps.cad.models import Analysis

    for pk in chosen:
        try:
            runner.enqueue(cad_tasks.cad_analysis_run, (pk,), priority=5)
        except Exception:
            log.warning("could not enqueue analysis %s", pk, exc_info=True)
            Analysis.objects.filter(pk=pk, status=Analysis.Status.QUEUED).update(
                dispatched_at=None
            )


def _send_items(chosen: list[tuple[int, int]]) -> None:
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


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _max_attempts() -> int:
    return int(getattr(settings, "CADML_BATCH_MAX_ATTEMPTS", 3))


Next = tuple[int, int]  # (item id, priority) handed to a slice, not yet sent


def items_slice_run(*, item_id: int, slice_id: str = "") -> int:
    """Run ``item_id``, then the tenant's next items in this same task.

    A slice holds one of its tenant's K slots, as one item did: each finished
    item hands the slot to the tenant's next item (priority, then submission
    order), and the slice runs it instead of publishing it. Before every claim
    the slice stops and publishes that item when its budget is spent
    (``CADML_BATCH_SLICE_MS``, ``CADML_BATCH_SLICE_ITEMS``) or an item of a
    higher priority waits in the broker for a worker; a cancelled job's item is
    refused by the claim itself. ``slice_id`` (the Celery task id) marks the
    items the slice holds, so its redelivered message (worker killed, or a
    transient error's retry) takes up the item that was in hand. Returns how
    many items the slice ran.
    """
    slice_id = slice_id or uuid.uuid4().hex
    deadline = time.monotonic() + int(settings.CADML_BATCH_SLICE_MS) / 1000
    limit = max(1, int(settings.CADML_BATCH_SLICE_ITEMS))
    current, ran = item_id, 0
    while True:
        nxt = item_process(
            item_id=current, slice_id=slice_id, keep_next=True, recover=ran == 0
        )
        ran += 1
        if nxt is None:
            return ran
        if (
            ran >= limit
            or time.monotonic() >= deadline
            or _higher_priority_waiting(nxt[1])
        ):
            _send_items([nxt])
            return ran
        current = nxt[0]


def _higher_priority_waiting(priority: int) -> bool:
    """An item of a higher priority (any tenant) is handed to the broker and
    waits for a worker (partial index batchitem_in_flight: K rows a tenant).
    One whose message the broker lost (the reaper's stale ones) does not
    count: it would make every slice yield until the reaper ran."""
    stale = timezone.now() - timedelta(
        seconds=float(settings.CADML_BATCH_DISPATCH_STALE_S)
    )
    return BatchItem.objects.filter(
        status=Item.PENDING, dispatched_at__gt=stale, priority__gt=priority
    ).exists()


def item_process(
    *,
    item_id: int,
    slice_id: str = "",
    keep_next: bool = False,
    recover: bool = False,
) -> Next | None:
    """Run one item; safe to call again for the same item (redelivery).

    Only an item that is pending, or running (its worker died), is claimed; an
    item that already ended is left alone, and only the first finisher moves the
    job's counters, so every item counts exactly once. With ``keep_next`` the
    item handed the freed slot is returned instead of published; ``recover``
    (a slice's first item): if the item ended, the item the slice held is taken
    up instead.
    """
    with (
        telemetry.span("batch.item", item_id=item_id),
        metrics.timed(metrics.batch_item_duration),
    ):
        return _item_process(
            item_id=item_id, slice_id=slice_id, keep_next=keep_next, recover=recover
        )


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


def _item_process(
    *, item_id: int, slice_id: str, keep_next: bool, recover: bool
) -> Next | None:
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
        return None
    finish = {"slice_id": slice_id, "keep_next": keep_next}
    telemetry.set_attributes(job_id=item.job_id)
    _job_mark_started(item.job)
    if item.attempts > _max_attempts():
        return _item_finish(
            item,
            status=Item.FAILED,
            code="worker_lost",
            message=f"the worker running this item was lost {item.attempts - 1} times",
            **finish,
        )
    if item.drawing is None:
        return _item_finish(
            item,
            status=Item.FAILED,
            code="drawing_missing",
            message="the drawing was deleted",
            **finish,
        )
    from celery.exceptions import SoftTimeLimitExceeded

    from apps.cad.services import analysis_compute, analysis_stored

    try:
        # Computed here, stored by the finish: with the item's end, in one
        # transaction (on PostgreSQL, one statement).
        analysis = analysis_compute(drawing=item.drawing)
    except DomainError as exc:
        # Over the isolation limits (memory, time, size) lands here too: the
        # item fails, the slice goes on.
        return _item_finish(
            item, status=Item.FAILED, code=exc.code, message=exc.message, **finish
        )
    except SoftTimeLimitExceeded:
        return _item_finish(
            item,
            status=Item.FAILED,
            code="timeout",
            message="the item took longer than its time limit",
            **finish,
        )
    except TRANSIENT_ERRORS:
        metrics.batch_items.labels("retried").inc()
        raise  # the task retries with backoff; the item stays claimed
    except Exception as exc:
        # A bug, not the file's fault: fail the item (retry-failed can run it
        # again once fixed) rather than leave it running until the reaper.
        log.exception("batch item %s failed unexpectedly", item.pk)
        return _item_finish(
            item,
            status=Item.FAILED,
            code="internal_error",
            message=f"unexpected error ({type(exc).__name__}); retry later",
            **finish,
        )
    nxt = _item_finish(item, status=Item.SUCCEEDED, analysis=analysis, **finish)
    analysis_stored(analysis=analysis)
    return nxt


def _item_claim(item_id: int, slice_id: str = "") -> BatchItem | None:
    """Mark a pending item (or one whose worker died) running; None if it ended."""
    started = timezone.now()
    if sql.enabled():
        return sql.item_claim(
            item_id=item_id, started=started, worker=_worker_name(), slice_id=slice_id
        )
    claimed = BatchItem.objects.filter(
        pk=item_id, status__in=[Item.PENDING, Item.RUNNING]
    ).update(
        status=Item.RUNNING,
        attempts=F("attempts") + 1,
        started=started,
        worker=_worker_name(),
        slice=slice_id,
    )
    if not claimed:
        return None
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
            _channels(job),
            "batch.started",
            {"job_id": job.pk, "total": job.total, "priority": job.priority},
        )


def _channels(job: BatchJob) -> list[str]:
    return [f"job:{job.pk}", f"tenant:{job.tenant.slug}"]


def _item_finish(
    item: BatchItem,
    *,
    status: str,
    analysis: Any = None,
    code: str = "",
    message: str = "",
    slice_id: str = "",
    keep_next: bool = False,
) -> Next | None:
    """End the item (counted once), storing ``analysis``, its new unsaved
    analysis, in the same transaction; then the events. The tenant's item
    that takes the freed slot is published, or returned with ``keep_next``."""
    now = timezone.now()
    duration = (now - item.started).total_seconds() * 1000 if item.started else None
    gap = timedelta(
        seconds=1.0 / float(getattr(settings, "CADML_BATCH_PROGRESS_HZ", 4))
    )
    job = item.job
    finish = _item_finish_sql if sql.enabled() else _item_finish_orm
    held: list[Next] = []
    row = finish(
        item,
        status=status,
        analysis=analysis,
        code=code,
        message=message,
        now=now,
        duration=duration,
        gate=now - gap,
        slice_id=slice_id,
        hold=held,
    )
    nxt = held[0] if held else None
    if nxt is not None and not keep_next:
        _send_items(held)
        nxt = None
    if row is None:
        return nxt
    metrics.batch_items.labels(status).inc()
    if status == Item.FAILED:
        events.publish(
            _channels(job),
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
        job_finalize_if_complete(job_id=job.pk)
    elif row["last_progress_at"] == now:
        for name in ("total", "done", "failed", "skipped", "status"):
            setattr(job, name, row[name])
        events.publish(_channels(job), "batch.progress", _progress_data(job))
    return nxt


def _item_finish_sql(
    item: BatchItem,
    *,
    status: str,
    analysis: Any,
    code: str,
    message: str,
    now: Any,
    duration: float | None,
    gate: Any,
    slice_id: str,
    hold: list[Next],
) -> dict[str, Any] | None:
    """PostgreSQL: what ``_item_finish_orm`` does, as one statement (``sql.py``)."""
    finished = sql.item_finish(
        item_id=item.pk,
        status=status,
        analysis=analysis,
        code=code[:100],
        message=message,
        now=now,
        duration_ms=duration,
        progress_gate=gate,
        slice_id=slice_id,
    )
    if finished is None:
        dispatch(tenant_id=item.tenant_id)
        return None
    if finished.next_item is not None:
        hold.append((finished.next_item, finished.next_priority))
    else:
        # No item took the freed slot: a queued upload of the tenant may.
        dispatch(tenant_id=item.tenant_id)
    return vars(finished)


def _item_finish_orm(
    item: BatchItem,
    *,
    status: str,
    analysis: Any,
    code: str,
    message: str,
    now: Any,
    duration: float | None,
    gate: Any,
    slice_id: str,
    hold: list[Next],
) -> dict[str, Any] | None:
    # One transaction per finished item: its new analysis, the item, the job's
    # counter, the progress throttle and the tenant's next dispatch (each
    # commit is a disk flush, and there is one per item).
    with transaction.atomic():
        if analysis is not None:
            analysis.save()
        moved = BatchItem.objects.filter(pk=item.pk, status=Item.RUNNING).update(
            status=status,
            analysis=analysis,
            error_code=code[:100],
            error_message=message,
            finished=now,
            duration_ms=duration,
        )
        row = None
        if moved:
            counter = "done" if status == Item.SUCCEEDED else "failed"
            BatchJob.objects.filter(pk=item.job_id).update(
                **{counter: F(counter) + 1},
                last_progress_at=Case(
                    When(
                        Q(last_progress_at__isnull=True)
                        | Q(last_progress_at__lte=gate),
                        then=Value(now),
                    ),
                    default=F("last_progress_at"),
                ),
            )
            row = BatchJob.objects.filter(pk=item.job_id).values(
                "total", "done", "failed", "skipped", "status", "last_progress_at"
            )[0]
        if moved:
            dispatch(tenant_id=item.tenant_id, freed=1, slice_id=slice_id, hold=hold)
        else:
            dispatch(tenant_id=item.tenant_id)
    return row


def _progress_data(job: BatchJob) -> dict[str, Any]:
    return {
        "job_id": job.pk,
        "status": job.status,
        "percent": job.percent,
        "total": job.total,
        "done": job.done,
        "failed": job.failed,
        "skipped": job.skipped,
    }


def job_progress(*, job_id: int, force: bool = False) -> bool:
    """Publish ``batch.progress`` at most ``CADML_BATCH_PROGRESS_HZ`` times a second."""
    now = timezone.now()
    hz = float(getattr(settings, "CADML_BATCH_PROGRESS_HZ", 4))
    if not force:
        gap = timedelta(seconds=1.0 / hz)
        won = BatchJob.objects.filter(
            Q(last_progress_at__isnull=True) | Q(last_progress_at__lte=now - gap),
            pk=job_id,
        ).update(last_progress_at=now)
        if not won:
            return False
    job = BatchJob.objects.select_related("tenant").get(pk=job_id)
    if not force and job.processed >= job.total:
        return False  # the final 100 % event goes out with the completion
    events.publish(_channels(job), "batch.progress", _progress_data(job))
    return True


_FINAL_EVENT = {
    Job.SUCCEEDED: "batch.completed",
    Job.PARTIAL: "batch.completed",
    Job.FAILED: "batch.failed",
    Job.CANCELLED: "batch.cancelled",
}


# Final job status -> cadml_batch_jobs_total{status} (a partial job completed).
_JOB_OUTCOMES = {Job.FAILED: "failed", Job.CANCELLED: "cancelled"}


def job_finalize_if_complete(*, job_id: int) -> bool:
    """End the job once every item ended; exactly one caller wins."""
    job = BatchJob.objects.select_related("tenant").get(pk=job_id)
    if job.status not in BatchJob.ACTIVE or job.processed < job.total:
        return False
    if job.status == Job.CANCELLING:
        final = Job.CANCELLED
    elif job.failed == 0:
        final = Job.SUCCEEDED
    elif job.done == 0:
        final = Job.FAILED
    else:
        final = Job.PARTIAL
    now = timezone.now()
    job.finished = now
    # Every item has ended, so the summary is final; writing it with the status
    # means nobody ever sees a finished job without one.
    summary = job_summary(job=job)
    if not BatchJob.objects.filter(pk=job_id, status__in=BatchJob.ACTIVE).update(
        status=final, finished=now, summary=summary
    ):
        return False
    metrics.batch_jobs.labels(_JOB_OUTCOMES.get(final, "completed")).inc()
    job.refresh_from_db()
    job_progress(job_id=job.pk, force=True)
    payload = job_payload(job)
    events.publish(_channels(job), _FINAL_EVENT[final], payload)
    events.audit(
        "batch.cancelled" if final == Job.CANCELLED else "batch.completed",
        tenant=job.tenant,
        job_id=job.pk,
        details={"status": final, "summary": job.summary},
    )
    if job.callback_url:
        from apps.batch import runner, tasks

        runner.enqueue(tasks.batch_webhook_deliver, (job.pk, 1), priority=9)
    return True


def _label(prediction: Any) -> str:
    if isinstance(prediction, dict):
        return str(prediction.get("label") or prediction.get("class") or "")
    return str(prediction or "")


def prediction_of(analysis: Any) -> tuple[str, float | None]:
    """(label, confidence) of an Analysis; ('', None) while no model is active."""
    if analysis is None:
        return "", None
    return _label(analysis.prediction), analysis.confidence


def job_summary(*, job: BatchJob) -> dict[str, Any]:
    # Only the columns the summary needs: an analysis row carries the
    # drawing's features and text, which a 1000-item job would load for nothing.
    rows = BatchItem.objects.filter(job=job).values_list(
        "status", "error_code", "duration_ms", "analysis__prediction"
    )
    by_label: Counter[str] = Counter()
    by_error: Counter[str] = Counter()
    durations = []
    for status, error_code, duration_ms, prediction in rows:
        if status == Item.SUCCEEDED:
            by_label[_label(prediction) or "(none)"] += 1
        elif status == Item.FAILED:
            by_error[error_code or "error"] += 1
        if duration_ms is not None:
            durations.append(duration_ms)
    elapsed = (
        (job.finished - job.started).total_seconds()
        if job.finished and job.started
        else None
    )
    return {
        "total": job.total,
        "succeeded": job.done,
        "failed": job.failed,
        "skipped": job.skipped,
        "by_label": dict(sorted(by_label.items())),
        "by_error": dict(sorted(by_error.items())),
        "elapsed_s": elapsed,
        "mean_item_ms": round(sum(durations) / len(durations), 3)
        if durations
        else None,
    }


def job_payload(job: BatchJob) -> dict[str, Any]:
    """What webhooks and final events carry."""
    return {
        "job_id": job.pk,
        "tenant": job.tenant.slug,
        "kind": job.kind,
        "status": job.status,
        "priority": job.priority,
        "total": job.total,
        "created": job.created.isoformat(),
        "started": job.started.isoformat() if job.started else None,
        "finished": job.finished.isoformat() if job.finished else None,
        "summary": job.summary,
    }


def job_cancel(*, job: BatchJob, user: Any = None) -> BatchJob:
    """Skip pending items; running ones finish; then the job is ``cancelled``."""
    if job.status in BatchJob.TERMINAL:
        raise Conflict(f"job {job.pk} already ended ({job.status})", code="job_ended")
    now = timezone.now()
    with transaction.atomic():
        BatchJob.objects.filter(pk=job.pk, status__in=[Job.QUEUED, Job.RUNNING]).update(
            status=Job.CANCELLING
        )
        skipped = BatchItem.objects.filter(job=job, status=Item.PENDING).update(
            status=Item.SKIPPED, finished=now, error_code="cancelled"
        )
        if skipped:
            BatchJob.objects.filter(pk=job.pk).update(skipped=F("skipped") + skipped)
            metrics.batch_items.labels("cancelled").inc(skipped)
        transaction.on_commit(lambda: _after_submit(job.pk, job.tenant_id))
    events.audit(
        "batch.cancelled",
        tenant=job.tenant,
        job_id=job.pk,
        user=user,
        details={"skipped": skipped},
    )
    job.refresh_from_db()
    return job


def job_priority_changed(*, job: BatchJob) -> int:
    """Give the job's waiting items its new priority (they are dispatched in
    item priority order); returns how many moved."""
    return BatchItem.objects.filter(job=job, status=Item.PENDING).update(
        priority=job.priority
    )


def job_retry_failed(*, job: BatchJob) -> tuple[BatchJob, int]:
    """Run the failed items of an ended job again (not those refused at upload)."""
    if job.status not in (Job.PARTIAL, Job.FAILED):
        raise Conflict(
            f"only a partial or failed job can retry its failed items; job {job.pk} "
            f"is {job.status}",
            code="job_not_retryable",
        )
    with transaction.atomic():
        n = BatchItem.objects.filter(
            job=job, status=Item.FAILED, drawing__isnull=False
        ).update(
            status=Item.PENDING,
            error_code="",
            error_message="",
            dispatched_at=None,
            started=None,
            finished=None,
            duration_ms=None,
            attempts=0,
            analysis=None,
        )
        if n == 0:
            raise Conflict(
                "no failed item can be retried (files refused at upload cannot)",
                code="nothing_to_retry",
            )
        BatchJob.objects.filter(pk=job.pk).update(
            failed=F("failed") - n, status=Job.RUNNING, finished=None
        )
        transaction.on_commit(lambda: dispatch(tenant_id=job.tenant_id))
    job.refresh_from_db()
    return job, n


def webhook_attempt(*, job_id: int, attempt: int) -> float | None:
    """Deliver the job's webhook once; the delay before the next try, or None."""
    job = BatchJob.objects.select_related("tenant").get(pk=job_id)
    if not job.callback_url:
        return None
    event = _FINAL_EVENT.get(job.status, "batch.completed")
    result = webhooks.deliver(
        url=job.callback_url,
        secret=job.tenant.webhook_signing_secrets(),
        event=event,
        payload={"event": event, "attempt": attempt, "job": job_payload(job)},
    )
    WebhookDelivery.objects.create(
        job=job,
        attempt=attempt,
        url=job.callback_url,
        event=event,
        status_code=result.status_code,
        ok=result.ok,
        error=result.error[:2000],
        duration_ms=result.duration_ms,
    )
    max_attempts = int(getattr(settings, "CADML_WEBHOOK_MAX_ATTEMPTS", 5))
    if result.ok:
        events.audit(
            "webhook.delivered",
            tenant=job.tenant,
            job_id=job.pk,
            details={"attempt": attempt, "status_code": result.status_code},
        )
        return None
    if attempt >= max_attempts:
        events.audit(
            "webhook.failed",
            tenant=job.tenant,
            job_id=job.pk,
            details={"attempts": attempt, "error": result.error[:500]},
        )
        return None
    base = float(getattr(settings, "CADML_WEBHOOK_BACKOFF_S", 5.0))
    return base * 2 ** (attempt - 1)


def items_reap() -> dict[str, int]:
    """Beat: recover items whose worker or broker message was lost, end stuck jobs."""
    now = timezone.now()
    hard = float(getattr(settings, "CADML_BATCH_ITEM_TIME_LIMIT_S", 120))
    stale_dispatch = float(getattr(settings, "CADML_BATCH_DISPATCH_STALE_S", 600))
    stuck_running = BatchItem.objects.filter(
        status=Item.RUNNING, started__lt=now - timedelta(seconds=hard + 30)
    )
    tenants: set[int] = set()
    failed = requeued = 0
    for item in stuck_running.select_related("job", "job__tenant"):
        tenants.add(item.tenant_id)
        if item.attempts >= _max_attempts():
            _item_finish(
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
        dispatched_at__lt=now - timedelta(seconds=stale_dispatch),
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
    # Queued analyses (large uploads) whose message was lost go back to
    # waiting, and tenants with queued analyses nobody handed out get a
    # dispatch (the one that would have freed their slot may have been lost).
    from apps.cad.models import Analysis

    # One that started and never ended lost its worker (Celery redelivers a
    # lost task; this is for when that did not happen either). A late task
    # that does end still stores its result over this.
    lost_running = Analysis.objects.filter(
        status=Analysis.Status.RUNNING,
        dispatched_at__lt=now - timedelta(seconds=stale_dispatch + hard + 30),
    )
    tenants |= set(lost_running.values_list("tenant_id", flat=True))
    failed += lost_running.update(
        status=Analysis.Status.FAILED,
        error="The analysis' worker was lost; analyse the drawing again.",
        error_code="worker_lost",
        finished=now,
    )
    queued = Analysis.objects.filter(status=Analysis.Status.QUEUED)
    requeued += queued.filter(
        dispatched_at__lt=now - timedelta(seconds=stale_dispatch)
    ).update(dispatched_at=None)
    tenants |= set(
        queued.filter(dispatched_at__isnull=True)
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    for tenant_id in tenants:
        dispatch(tenant_id=tenant_id)
    ended = 0
    for job_id in BatchJob.objects.filter(status__in=BatchJob.ACTIVE).values_list(
        "pk", flat=True
    ):
        ended += job_finalize_if_complete(job_id=job_id)
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
    return {"requeued": requeued, "failed": failed, "ended": ended}
