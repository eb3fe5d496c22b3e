"""A job's progress and its end: progress events, the final status, summary
and event, the audit fact and the webhook's first delivery."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.batch import events
from apps.batch.models import BatchItem, BatchJob
from cadml import metrics
from cadml.lib.channels import job_channel, tenant_channel

Item = BatchItem.Status
Job = BatchJob.Status

# Keyed by the status as the database returns it (a plain str).
FINAL_EVENT: dict[str, str] = {
    Job.SUCCEEDED: "batch.completed",
    Job.PARTIAL: "batch.completed",
    Job.FAILED: "batch.failed",
    Job.CANCELLED: "batch.cancelled",
}

# Final job status -> cadml_batch_jobs_total{status} (a partial job completed).
_JOB_OUTCOMES: dict[str, str] = {Job.FAILED: "failed", Job.CANCELLED: "cancelled"}


def channels(job: BatchJob) -> list[str]:
    return [job_channel(job.pk), tenant_channel(job.tenant.slug)]


def progress_data(job: BatchJob) -> dict[str, Any]:
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
    if not force:
        gap = timedelta(seconds=1.0 / float(settings.CADML_BATCH_PROGRESS_HZ))
        won = BatchJob.objects.filter(
            Q(last_progress_at__isnull=True) | Q(last_progress_at__lte=now - gap),
            pk=job_id,
        ).update(last_progress_at=now)
        if not won:
            return False
    job = BatchJob.objects.select_related("tenant").get(pk=job_id)
    if not force and job.processed >= job.total:
        return False  # the final 100 % event goes out with the completion
    events.publish(channels(job), "batch.progress", progress_data(job))
    return True


def _final_status(job: BatchJob) -> str:
    if job.status == Job.CANCELLING:
        return Job.CANCELLED
    if job.failed == 0:
        return Job.SUCCEEDED
    if job.done == 0:
        return Job.FAILED
    return Job.PARTIAL


def job_finalize_if_complete(*, job_id: int) -> bool:
    """End the job once every item ended; exactly one caller wins."""
    job = BatchJob.objects.select_related("tenant").get(pk=job_id)
    if job.status not in BatchJob.ACTIVE or job.processed < job.total:
        return False
    final = _final_status(job)
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
    events.publish(channels(job), FINAL_EVENT[final], job_payload(job))
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
