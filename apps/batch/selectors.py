from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.batch.completion import prediction_of
from apps.batch.models import BatchItem, BatchJob, WebhookDelivery
from cadml.lib import params
from cadml.lib.errors import InvalidInput, NotFound


def job_list(
    *,
    tenant: Tenant,
    status: str | None = None,
    kind: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
) -> QuerySet[BatchJob]:
    qs = BatchJob.objects.filter(tenant=tenant).select_related("tenant")
    if status:
        wanted = status.split(",")
        unknown = set(wanted) - set(BatchJob.Status.values)
        if unknown:
            raise InvalidInput(
                f"unknown status {', '.join(sorted(unknown))}; choose from "
                f"{', '.join(BatchJob.Status.values)}",
                code="invalid_status",
                field="status",
            )
        qs = qs.filter(status__in=wanted)
    if kind:
        if kind not in BatchJob.Kind.values:
            raise InvalidInput(
                f"kind must be one of {', '.join(BatchJob.Kind.values)}",
                code="invalid_kind",
                field="kind",
            )
        qs = qs.filter(kind=kind)
    after = params.when(created_after, field="created_after")
    if after is not None:
        qs = qs.filter(created__gte=after)
    before = params.when(created_before, field="created_before", end_of_day=True)
    if before is not None:
        qs = qs.filter(created__lt=before)
    return qs


def job_get(*, tenant: Tenant, job_id: int) -> BatchJob:
    job = (
        BatchJob.objects.select_related("tenant")
        .filter(tenant=tenant, pk=job_id)
        .first()
    )
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


def item_list(*, job: BatchJob, status: str | None = None) -> QuerySet[BatchItem]:
    qs = BatchItem.objects.filter(job=job).select_related("analysis").order_by("index")
    if status:
        wanted = status.split(",")
        unknown = set(wanted) - set(BatchItem.Status.values)
        if unknown:
            raise InvalidInput(
                f"unknown item status {', '.join(sorted(unknown))}; choose from "
                f"{', '.join(BatchItem.Status.values)}",
                code="invalid_status",
                field="status",
            )
        qs = qs.filter(status__in=wanted)
    return qs


def delivery_list(*, job: BatchJob) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(job=job).order_by("attempt")


def job_eta_s(job: BatchJob) -> float | None:
    """Seconds left at the rate so far; None before the first item ends."""
    if job.status not in BatchJob.ACTIVE or not job.started:
        return None
    finished = job.done + job.failed
    remaining = job.total - job.processed
    if finished == 0:
        return None
    elapsed = (timezone.now() - job.started).total_seconds()
    return round(elapsed / finished * remaining, 1)


from apps.cad.titleblock import FIELDS as TITLE_FIELDS  # noqa: E402


def _title_value(block: dict[str, Any], name: str) -> str:
    value = block.get(name)
    if isinstance(value, dict):
        value = value.get("value")
    return "" if value is None else str(value)


def result_rows(*, job: BatchJob) -> list[dict[str, Any]]:
    """One row per item: file name, status, prediction, title block, error."""
    rows = []
    for item in item_list(job=job):
        analysis = item.analysis
        label, confidence = prediction_of(analysis)
        block = (analysis.title_block if analysis is not None else None) or {}
        row: dict[str, Any] = {
            "index": item.index,
            "name": item.name,
            "drawing_id": item.drawing_id,
            "status": item.status,
            "predicted_label": label,
            "confidence": confidence,
        }
        for field in TITLE_FIELDS:
            row[f"title_{field}"] = _title_value(block, field)
        if job.kind == BatchJob.Kind.EXTRACT_TEXT:
            texts = (analysis.text if analysis is not None else None) or []
            row["text"] = " | ".join(
                str(t.get("text", "")) if isinstance(t, dict) else str(t) for t in texts
            )
        row["error_code"] = item.error_code
        row["error_message"] = item.error_message
        row["attempts"] = item.attempts
        row["duration_ms"] = item.duration_ms
        rows.append(row)
    return rows
