"""Celery task of the CAD core: a queued analysis (large uploads, 202).

Same contract as the batch items: ``acks_late`` with the message handed back
when the worker dies, retries with backoff for database or Redis hiccups only; a
refused file is an outcome stored on the analysis, not an exception.
"""

from __future__ import annotations

from celery import shared_task

from apps.batch.execution import TRANSIENT_ERRORS
from apps.cad import services


@shared_task(
    name="cad.analysis_run",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    ignore_result=True,
)
def cad_analysis_run(analysis_id: int) -> None:
    services.analysis_queued_run(analysis_id=analysis_id)


@shared_task(
    name="cad.search_index_build",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=1,
    max_retries=5,
    ignore_result=True,
)
def cad_search_index_build(tenant_id: int, feature_version: str) -> None:
    services.search_index_rebuild(tenant_id=tenant_id, feature_version=feature_version)


@shared_task(
    name="cad.search_index_update",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=1,
    max_retries=5,
    ignore_result=True,
)
def cad_search_index_update(tenant_id: int, feature_version: str) -> None:
    services.search_index_fold(tenant_id=tenant_id, feature_version=feature_version)
