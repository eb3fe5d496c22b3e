"""Celery tasks: ids in, one service call, their own retries (STYLE.md rule 9).

``acks_late`` + ``reject_on_worker_lost``: a message is acknowledged only after
the item ran, and a worker process that dies (SIGKILL, OOM) hands it back to the
broker, so the item is redelivered; ``execution.item_process`` is idempotent.
``batch.item_run`` runs a slice (``execution.items_slice_run``): its item, then
the tenant's next ones, within ``CADML_BATCH_SLICE_MS``; the name is kept so
messages already queued and task metrics stay valid.
Transient infrastructure errors (database, Redis) retry with exponential
backoff; bad input never retries (it is an item failure, not an exception).
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init
from django.conf import settings

from apps.batch import execution, reaper, runner, webhooks

TRANSIENT = execution.TRANSIENT_ERRORS


@worker_process_init.connect(dispatch_uid="batch.allow_isolation_pool")
def _allow_isolation_pool(**kwargs: object) -> None:
    # The CAD core parses in its own process pool (memory and time limits per
    # file). Celery's prefork marks pool processes daemonic, and multiprocessing
    # refuses children to daemonic processes; the isolation pool stops its own
    # workers, so the flag is lifted in each pool process.
    # billiard's authkey type is not one multiprocessing will pass to a child.
    process = multiprocessing.current_process()
    process._config["daemon"] = False  # type: ignore[attr-defined]
    process._config["authkey"] = multiprocessing.process.AuthenticationString(  # type: ignore[attr-defined]
        os.urandom(32)
    )


_hard = float(settings.CADML_BATCH_ITEM_TIME_LIMIT_S)
_soft = float(settings.CADML_BATCH_ITEM_SOFT_TIME_LIMIT_S)


@shared_task(
    name="batch.item_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=_soft,
    time_limit=_hard,
    ignore_result=True,
)
def batch_item_run(self: Any, item_id: int) -> None:
    # The task id survives redelivery and retries: it names the slice.
    execution.items_slice_run(item_id=item_id, slice_id=self.request.id or "")


@shared_task(
    name="batch.webhook_deliver",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=1,
    max_retries=5,
    ignore_result=True,
)
def batch_webhook_deliver(job_id: int, attempt: int) -> None:
    delay = webhooks.webhook_attempt(job_id=job_id, attempt=attempt)
    if delay is not None:
        runner.enqueue(
            batch_webhook_deliver, (job_id, attempt + 1), priority=9, countdown=delay
        )


@shared_task(name="batch.reap", ignore_result=True)
def batch_reap() -> dict[str, int]:
    return reaper.items_reap()


@shared_task(
    name="batch.duplicate_report_run",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def batch_duplicate_report_run(job_id: int) -> None:
    """The tenant-wide duplicate report (``apps.batch.duplicate_report``);
    a worker killed mid-report hands the message back and it starts again."""
    from apps.batch.duplicate_report import report_run

    report_run(job_id=job_id)
