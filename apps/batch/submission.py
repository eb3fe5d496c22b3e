"""Submitting a batch job: validate -> store the files -> create the job.

``job_submit`` refuses what cannot run (with a message the caller can act on),
stores each uploaded file as a drawing (a file the CAD core refuses becomes an
item that failed with the core's message), then writes the job and its items
in one transaction; on commit the tenant's work is dispatched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Tenant
from apps.batch import events, execution, webhooks
from apps.batch.models import BatchItem, BatchJob
from apps.cad.features import SLOTS
from apps.cad.labels import drawings_label_many
from apps.cad.models import Drawing
from apps.cad.selectors import drawings_needing_features
from apps.cad.services import drawing_create
from cadml import metrics
from cadml.lib import params
from cadml.lib.errors import Conflict, DomainError, InvalidInput, NotFound

Item = BatchItem.Status

# Shared with the REST serializer, so REST and gRPC refuse in the same words.
KIND_MESSAGE = f"kind must be one of {', '.join(BatchJob.Kind.values)}"
PRIORITY_MESSAGE = "priority must be between 0 and 9"


@dataclass
class Upload:
    name: str
    content: bytes
    # Set by label_from=folder: the drawing is labelled with it (source "job").
    label: str | None = None


@dataclass
class _Request:
    """A validated submission and its fingerprint (for the Idempotency-Key)."""

    kind: str
    priority: int
    callback_url: str
    options: dict[str, Any]
    idempotency_key: str
    digest: str


# One item to be: (name, drawing or None, error code, error message).
_Row = tuple[str, Any, str, str]


def max_items() -> int:
    return int(settings.CADML_BATCH_MAX_ITEMS)


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
    uploads = uploads or []
    drawing_ids = drawing_ids or []
    request = _validated(
        uploads=uploads,
        drawing_ids=drawing_ids,
        kind=kind,
        priority=priority,
        callback_url=callback_url,
        options=options,
        idempotency_key=idempotency_key,
    )
    if request.idempotency_key:
        existing = _existing(tenant, request.idempotency_key, request.digest)
        if existing is not None:
            return existing, False
    rows = _named_drawings(tenant, drawing_ids)
    to_label = _store_uploads(tenant=tenant, user=user, uploads=uploads, rows=rows)
    try:
        job = _job_create(
            tenant=tenant, user=user, request=request, rows=rows, to_label=to_label
        )
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the race.
        if request.idempotency_key:
            existing = _existing(tenant, request.idempotency_key, request.digest)
            if existing is not None:
                return existing, False
        raise
    metrics.batch_jobs.labels("submitted").inc()
    if job.failed:
        metrics.batch_items.labels("failed").inc(job.failed)
    events.audit(
        "batch.submitted",
        tenant=tenant,
        job_id=job.pk,
        user=user,
        details={"items": job.total, "priority": priority, "kind": kind},
    )
    return job, True


def _validated(
    *,
    uploads: list[Upload],
    drawing_ids: list[int],
    kind: str,
    priority: int,
    callback_url: str,
    options: dict[str, Any] | None,
    idempotency_key: str | None,
) -> _Request:
    """Refuse a submission that cannot run, before anything is stored."""
    options = params.json_value(options or {}, field="options")
    key = params.text(
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
    return _Request(kind, priority, callback_url, options, key or "", digest)


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


def _named_drawings(tenant: Tenant, drawing_ids: list[int]) -> list[_Row]:
    """The rows of the tenant's stored drawings, in the order asked; a 404
    naming the ones the tenant does not have."""
    if not drawing_ids:
        return []
    drawings = {
        d.pk: d for d in Drawing.objects.filter(tenant=tenant, pk__in=drawing_ids)
    }
    missing = sorted({i for i in drawing_ids if i not in drawings})
    if missing:
        raise NotFound(
            f"drawings not found: {', '.join(map(str, missing[:20]))}",
            code="drawing_not_found",
        )
    return [(drawings[i].name, drawings[i], "", "") for i in drawing_ids]


def _store_uploads(
    *, tenant: Tenant, user: Any, uploads: list[Upload], rows: list[_Row]
) -> list[tuple[Any, str]]:
    """Store each file as a drawing and append its row; returns the drawings
    to label. A file the CAD core refuses is a failed row with its message."""

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
    return to_label


def _job_create(
    *,
    tenant: Tenant,
    user: Any,
    request: _Request,
    rows: list[_Row],
    to_label: list[tuple[Any, str]],
) -> BatchJob:
    """The job and its items in one transaction; dispatched once it commits."""
    now = timezone.now()
    with transaction.atomic():
        job = BatchJob.objects.create(
            tenant=tenant,
            created_by=user if getattr(user, "pk", None) else None,
            kind=request.kind,
            priority=request.priority,
            callback_url=request.callback_url,
            options=request.options,
            idempotency_key=request.idempotency_key or None,
            request_hash=request.digest,
            total=len(rows),
            failed=sum(1 for r in rows if r[1] is None),
        )
        BatchItem.objects.bulk_create(
            [
                BatchItem(
                    job=job,
                    tenant=tenant,
                    priority=request.priority,
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
            drawings_label_many(drawings=to_label, source="job", actor=user)
        # A job whose every file was refused at upload is already complete.
        transaction.on_commit(
            lambda: execution.job_settle(job_id=job.pk, tenant_id=tenant.pk)
        )
    return job


def refeaturize_submit(
    *,
    tenant: Tenant,
    user: Any,
    feature_version: str,
    priority: int = 3,
    analysed_before: datetime | None = None,
) -> list[BatchJob]:
    """Re-analyse the tenant's drawings that have no ``feature_version`` vector
    yet (or, with ``analysed_before``, none computed since then), as batch
    jobs (progress, cancel, retry as for any job). Each drawing gets a new
    analysis; the old ones stay. Running it again submits only what is still
    missing, so a cancelled run resumes where it stopped.

    For STEP/IGES only the version analyses store (``CADML_BREP_FEATURE_VERSION``)
    can be asked for: a re-analysis writes that one, so asking for the other
    would re-submit the same drawings on every run."""
    brep = settings.CADML_BREP_FEATURE_VERSION
    versions = [v for v in SLOTS if not v.startswith("mesh")] + [brep]
    if feature_version not in versions:
        raise InvalidInput(
            f"feature_version must be a drawing version: {', '.join(versions)}",
            code="unknown_feature_version",
        )
    ids = list(
        drawings_needing_features(
            tenant=tenant,
            feature_version=feature_version,
            analysed_before=analysed_before,
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
