"""The tenant-wide duplicate report as a batch job (docs/search.md).

The pairs come from the CAD app (``apps.cad.duplicate_report.write_report``).

``report_request`` queues a ``BatchJob`` of kind ``duplicate_report`` (no
items: the drawings looked at count as its progress, as the stages of a
training job do); ``report_run`` (a Celery task, or the in-process pool when
embedded) asks the search index for each analysed drawing's near-duplicates,
writes every pair once as CSV into the default storage, publishing
``batch.progress`` on ``job:<id>`` as it goes and stopping when the job is
cancelled. A redelivered job (worker killed) starts again and overwrites the
file: the CSV is only served once the job succeeded.
"""

from __future__ import annotations

import io
import logging
import os
import socket
import time
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.batch import events, runner
from apps.batch.models import BatchJob
from apps.cad import selectors
from apps.cad.duplicate_report import write_report
from cadml.lib.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

KIND = BatchJob.Kind.DUPLICATE_REPORT
Job = BatchJob.Status
# batch.progress at most this often (and at every percent).
PROGRESS_EVERY_S = 1.0
# The event a finished report announces (keyed by the status, a plain str).
_FINISH_EVENT: dict[str, str] = {
    Job.SUCCEEDED: "batch.completed",
    Job.FAILED: "batch.failed",
    Job.CANCELLED: "batch.cancelled",
}


class Cancelled(Exception):
    pass


def _path(job: BatchJob) -> str:
    return f"duplicate-reports/{job.tenant_id}/job-{job.pk}.csv"


def report_request(*, tenant: Tenant, user: Any) -> BatchJob:
    """Queue the tenant's duplicate report; 409 while one is queued or running."""
    with transaction.atomic():
        # The tenant row serialises two requests.
        Tenant.objects.select_for_update().get(pk=tenant.pk)
        running = BatchJob.objects.filter(
            tenant=tenant, kind=KIND, status__in=BatchJob.ACTIVE
        ).first()
        if running is not None:
            raise Conflict(
                f"A duplicate report is already being made by job {running.pk}; "
                f"watch it on job:{running.pk} or cancel it first.",
                code="report_in_progress",
            )
        job = BatchJob.objects.create(
            tenant=tenant,
            created_by=user if getattr(user, "pk", None) else None,
            kind=KIND,
            priority=5,
            total=selectors.tenant_analysed_drawings(tenant=tenant).count(),
            options={"threshold": settings.CADML_DUPLICATE_THRESHOLD},
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    events.audit(
        "batch.submitted",
        tenant=tenant,
        job_id=job.pk,
        user=user,
        details={"kind": KIND.value, "drawings": job.total},
    )
    return job


def _enqueue(job_id: int) -> None:
    from apps.batch import tasks  # tasks imports this module

    runner.enqueue(tasks.batch_duplicate_report_run, (job_id,), priority=5)


class _Run:
    def __init__(self, job: BatchJob) -> None:
        self.job = job
        self.channels = [f"job:{job.pk}", f"tenant:{job.tenant.slug}"]
        self.last = 0.0
        self.step = max(1, job.total // 100)

    def progress(self, done: int) -> None:
        now = time.monotonic()
        if done % self.step and now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        status = BatchJob.objects.filter(pk=self.job.pk).values_list(
            "status", flat=True
        )[0]
        if status == Job.CANCELLING:
            raise Cancelled
        # The count reaches the total only when the file is written.
        done = min(done, max(0, self.job.total - 1))
        BatchJob.objects.filter(pk=self.job.pk).update(
            done=done, last_progress_at=timezone.now()
        )
        self.job.done = done
        events.publish(
            self.channels,
            "batch.progress",
            {
                "job_id": self.job.pk,
                "status": Job.RUNNING,
                "percent": self.job.percent,
                "total": self.job.total,
                "done": done,
                "failed": 0,
                "skipped": 0,
            },
        )

    def finish(self, status: str, summary: dict[str, Any]) -> None:
        fields: dict[str, Any] = {
            "status": status,
            "finished": timezone.now(),
            "summary": summary,
        }
        if status == Job.SUCCEEDED:
            fields["done"] = self.job.total
        elif status == Job.FAILED:
            fields["failed"] = self.job.total - self.job.done
        else:
            fields["skipped"] = self.job.total - self.job.done
        if not BatchJob.objects.filter(
            pk=self.job.pk, status__in=BatchJob.ACTIVE
        ).update(**fields):
            return
        self.job.refresh_from_db()
        kind = _FINISH_EVENT[status]
        events.publish(
            self.channels,
            kind,
            {
                "job_id": self.job.pk,
                "tenant": self.job.tenant.slug,
                "kind": self.job.kind,
                "status": status,
                "total": self.job.total,
                "summary": summary,
            },
        )
        events.audit(
            "batch.cancelled" if status == Job.CANCELLED else "batch.completed",
            tenant=self.job.tenant,
            job_id=self.job.pk,
            details={"status": status, "kind": KIND.value},
        )


def report_run(*, job_id: int) -> None:
    """Make (or, redelivered, make again) a duplicate report; a failure ends
    the job with the reason in its summary rather than leaving it running."""
    job = BatchJob.objects.select_related("tenant").get(pk=job_id)
    if job.status in BatchJob.TERMINAL:
        return
    run = _Run(job)
    if job.status == Job.CANCELLING:
        run.finish(Job.CANCELLED, {"cancelled_at": "queued"})
        return
    if BatchJob.objects.filter(pk=job.pk, status=Job.QUEUED).update(
        status=Job.RUNNING, started=timezone.now()
    ):
        events.publish(
            run.channels, "batch.started", {"job_id": job.pk, "total": job.total}
        )
    worker = f"{socket.gethostname()}:{os.getpid()}"
    out = io.StringIO()
    try:
        pairs = write_report(tenant=job.tenant, out=out, progress=run.progress)
        path = _path(job)
        default_storage.delete(path)
        default_storage.save(path, ContentFile(out.getvalue().encode()))
    except Cancelled:
        run.finish(Job.CANCELLED, {"cancelled_at": run.job.done, "worker": worker})
    except Exception as exc:
        logger.exception("duplicate report job %s failed", job.pk)
        run.finish(
            Job.FAILED,
            {
                "error": f"unexpected error ({type(exc).__name__}); retry later",
                "code": "internal_error",
                "worker": worker,
            },
        )
    else:
        run.finish(
            Job.SUCCEEDED,
            {
                "pairs": pairs,
                "drawings": job.total,
                "threshold": job.options.get("threshold"),
                "csv": f"/api/v1/duplicates/report/{job.pk}.csv",
                "worker": worker,
            },
        )


def report_csv(*, tenant: Tenant, job_id: int) -> tuple[BatchJob, bytes]:
    """The CSV of the tenant's finished report job; 404 for another tenant's
    job or another kind, 409 while it is not done."""
    job = BatchJob.objects.filter(tenant=tenant, pk=job_id, kind=KIND).first()
    if job is None:
        raise NotFound("No duplicate report job with this id.")
    if job.status != Job.SUCCEEDED:
        raise Conflict(
            f"The report of job {job.pk} is not ready: the job is {job.status} "
            f"({job.percent}%); watch job:{job.pk}.",
            code="report_not_ready",
        )
    try:
        with default_storage.open(_path(job), "rb") as fh:
            return job, fh.read()
    except FileNotFoundError:
        raise NotFound(
            f"The report file of job {job.pk} is gone; request a new report."
        ) from None
