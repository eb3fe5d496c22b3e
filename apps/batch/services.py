"""Batch jobs: what a user changes on a submitted job (cancel, retry, priority).

The rest of the app's writes live by stage: ``submission.py`` (validate ->
store -> create), ``dispatch.py`` (per-tenant slots), ``execution.py`` (claim ->
process -> finish, in slices), ``completion.py`` (progress, final status),
``reaper.py`` (lost work) and ``webhooks.py`` (deliveries).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.batch import events, execution
from apps.batch.dispatch import dispatch
from apps.batch.models import BatchItem, BatchJob
from cadml import metrics
from cadml.lib.errors import Conflict

Item = BatchItem.Status
Job = BatchJob.Status


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
        transaction.on_commit(
            lambda: execution.job_settle(job_id=job.pk, tenant_id=job.tenant_id)
        )
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
