"""Celery tasks: ids in, one service call, their own retries (STYLE.md rule 9).

``acks_late`` + ``reject_on_worker_lost``: a message is acknowledged only after
the item ran, and a worker process that dies (SIGKILL, OOM) hands it back to the
broker, so the item is redelivered; ``services.item_process`` is idempotent.
Transient infrastructure errors (database, Redis) retry with exponential
backoff; bad input never retries (it is an item failure, not an exception).
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from apps.batch import runner, services

TRANSIENT = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)

_hard = float(getattr(settings, "CADML_BATCH_ITEM_TIME_LIMIT_S", 120))
_soft = float(getattr(settings, "CADML_BATCH_ITEM_SOFT_TIME_LIMIT_S", 90))


@shared_task(
    name="batch.item_run",
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
def batch_item_run(item_id: int) -> None:
    services.item_process(item_id=item_id)


@shared_task(
    name="batch.webhook_deliver",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=1,
    max_retries=5,
    ignore_result=True,
)
def batch_webhook_deliver(job_id: int, attempt: int) -> None:
    delay = services.webhook_attempt(job_id=job_id, attempt=attempt)
    if delay is not None:
        runner.enqueue(
            batch_webhook_deliver, (job_id, attempt + 1), priority=9, countdown=delay
        )


@shared_task(name="batch.reap", ignore_result=True)
def batch_reap() -> dict[str, int]:
    return services.items_reap()
